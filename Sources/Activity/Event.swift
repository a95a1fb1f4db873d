/// What a client reports about playback.
public enum ActivityEventType: String, Codable, Sendable, CaseIterable {
    case play, pause, resume, seek, heartbeat, stop, rating
}

/// One activity event as a client sends it (schema version ``schemaVersion``).
///
/// Identity: `(client, sequence)` is unique; a client numbers its events 0, 1, 2, … in the order it
/// creates them, so the aggregators can drop a re-sent event exactly. Heartbeats travel as *runs*:
/// one record for `count` consecutive heartbeats `interval` apart, the first at `eventTime` and
/// `position`, the last at `position` `endPosition`; they hold sequences `sequence ..< sequence +
/// count` and are applied as if they came one by one (a client batches its heartbeats so that a
/// platform of millions of players sends records, not every heartbeat). Every other type has `count` 1. Times are microseconds since the Unix epoch;
/// positions are microseconds into the title.
public struct ActivityEvent: Codable, Sendable, Equatable {
    public static let schemaVersion = 1

    public var client: UInt64
    public var sequence: UInt32
    public var count: UInt32
    public var profile: UInt64
    public var region: UInt16
    public var title: Int32
    public var type: ActivityEventType
    /// When it happened on the client (the first heartbeat of a run).
    public var eventTime: Int64
    /// When the client sent it.
    public var sendTime: Int64
    public var position: Int64
    /// Heartbeat runs: the last heartbeat's position; otherwise `position`.
    public var endPosition: Int64
    /// Heartbeat runs: microseconds between heartbeats; otherwise 0.
    public var interval: Int64
    /// Ratings: 1 to 5; otherwise 0.
    public var rating: UInt8
    /// Stops: whether the title was watched to its end.
    public var completed: Bool

    public init(client: UInt64, sequence: UInt32, count: UInt32 = 1, profile: UInt64, region: UInt16, title: Int32,
                type: ActivityEventType, eventTime: Int64, sendTime: Int64, position: Int64, endPosition: Int64? = nil,
                interval: Int64 = 0, rating: UInt8 = 0, completed: Bool = false) {
        precondition(count >= 1 && (type == .heartbeat || count == 1), "only heartbeats travel in runs")
        self.client = client
        self.sequence = sequence
        self.count = count
        self.profile = profile
        self.region = region
        self.title = title
        self.type = type
        self.eventTime = eventTime
        self.sendTime = sendTime
        self.position = position
        self.endPosition = endPosition ?? position
        self.interval = interval
        self.rating = rating
        self.completed = completed
    }

    /// When the last event of the record happened.
    public var lastEventTime: Int64 { eventTime + Int64(count - 1) * interval }

    /// The CSV columns, in order (the export's header).
    public static let csvHeader = "client,sequence,count,profile,region,title,type,event_time_us,send_time_us,position_us,end_position_us,interval_us,rating,completed"

    /// The event as one CSV line (no newline), in ``csvHeader``'s order.
    public var csvLine: String {
        "\(client),\(sequence),\(count),\(profile),\(region),\(title),\(type.rawValue),\(eventTime),\(sendTime),\(position),\(endPosition),\(interval),\(rating),\(completed ? 1 : 0)"
    }

    /// Parses a line of ``csvLine``; nil if it is not one.
    public init?(csvLine line: Substring) {
        let f = line.split(separator: ",", omittingEmptySubsequences: false)
        guard f.count == 14, let client = UInt64(f[0]), let sequence = UInt32(f[1]), let count = UInt32(f[2]),
              let profile = UInt64(f[3]), let region = UInt16(f[4]), let title = Int32(f[5]),
              let type = ActivityEventType(rawValue: String(f[6])), let eventTime = Int64(f[7]), let sendTime = Int64(f[8]),
              let position = Int64(f[9]), let endPosition = Int64(f[10]), let interval = Int64(f[11]),
              let rating = UInt8(f[12]), f[13] == "0" || f[13] == "1", count >= 1, type == .heartbeat || count == 1 else { return nil }
        self.init(client: client, sequence: sequence, count: count, profile: profile, region: region, title: title, type: type,
                  eventTime: eventTime, sendTime: sendTime, position: position, endPosition: endPosition, interval: interval,
                  rating: rating, completed: f[13] == "1")
    }
}
