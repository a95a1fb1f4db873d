import Activity
import Reports
import World

/// `--export-activity`: every record the activity log accepted, in the order the aggregators read
/// it (re-sent duplicates included), one CSV line each: the event's columns (see `ActivityEvent`),
/// then `applied,duplicates,late` (how many of its events the aggregators applied, dropped as
/// already applied, or found later than the watermark), `expired` (1 if the log's retention
/// dropped it before it was read) and `watermark_us` (the watermark when it was read; empty before
/// there was one). Records still unread at the end follow with all four at 0 and no watermark.
public enum ActivityExport {
    public static let header = ActivityEvent.csvHeader + ",applied,duplicates,late,expired,watermark_us\n"

    public static func start(path: String, world: any WorldRun) throws -> StreamedFile {
        let file = try StreamedFile(path: path)
        file.write(header)
        world.activityExport = { record, outcome, watermark, expired in
            file.write(record.csvLine + ",\(outcome.applied),\(outcome.duplicates),\(outcome.late),\(expired ? 1 : 0),"
                       + (watermark.map(String.init) ?? "") + "\n")
        }
        return file
    }

    public static func finish(_ file: StreamedFile, world: any WorldRun) {
        for record in world.unreadRecords { file.write(record.csvLine + ",0,0,0,0,\n") }
    }
}

/// `--export-requests`: every request a PoP sees, one CSV row each, in simulated-time order.
///
/// Columns: `time_us` (microseconds since the scenario's start), `pop` (the PoP's id),
/// `object_id` (the file: title × rungs + rung), `size_bytes` (the whole file's size, as cache
/// simulators size objects), `hit` (1 if the PoP held it), `request_bytes` (the bytes this
/// request moved: its segment, which the report's byte hit ratio counts). A miss that goes on to a
/// parent PoP is also a row at the parent. With sampling 1 in k, these are the sampled users'
/// requests.
public enum RequestExport {
    public static let header = "time_us,pop,object_id,size_bytes,hit,request_bytes\n"

    public static func start(path: String, world: World) throws -> StreamedFile {
        let file = try StreamedFile(path: path)
        file.write(header)
        let ids = world.configuration.pops.map { Array(($0.id + ",").utf8) }
        world.requestLog = { time, pop, object, bytes, hit, moved in
            file.write(decimal: time.microseconds)
            file.write(byte: UInt8(ascii: ","))
            ids[pop].withUnsafeBufferPointer { file.write($0) }
            file.write(decimal: Int64(object))
            file.write(byte: UInt8(ascii: ","))
            file.write(decimal: Int64(bytes.rounded()))
            file.write(byte: UInt8(ascii: ","))
            file.write(byte: hit ? UInt8(ascii: "1") : UInt8(ascii: "0"))
            file.write(byte: UInt8(ascii: ","))
            file.write(decimal: Int64(moved.rounded()))
            file.write(byte: UInt8(ascii: "\n"))
        }
        return file
    }
}
