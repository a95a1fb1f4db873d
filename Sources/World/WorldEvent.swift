import SimCore

/// What can happen in the world, as the event queue holds it: at most 8 bytes (a tag, a 4-byte id
/// and a 2-byte generation), so that a pending event is 24 bytes with its time and sequence.
///
/// Who handles each kind (``World/handle(_:)`` dispatches them; docs/architecture.md has the
/// table): the world (arrivals, the playback API, patience, session ends, failover, surge
/// arrivals); ``Delivery`` (`request`, `abandon`, and `downloadDone` before the world books its
/// QoE); ``FillScheduler`` (`fillDone`, `windowCloses`, the fill part of `sample`); ``SitePlanner``
/// (`windowOpens`); ``Sites`` (`release`); ``FaultInjector`` (`faultStarts`, `faultEnds`);
/// ``ActivityClients`` (`flush`, `activityRetry`); ``ActivityLog`` (`logRead`, `publish`, `land`,
/// the log part of `sample`); ``ControlPlane`` (`control`).
public enum WorldEvent: BitwiseCopyable {
    case arrival(region: UInt16)
    case apiResponse(session: UInt32, generation: UInt16)
    /// The player asked to wait before its next request.
    case request(session: UInt32, generation: UInt16)
    case downloadDone(session: UInt32, generation: UInt16, epoch: UInt8)
    /// The in-flight download is abandoned for a lower rung.
    case abandon(session: UInt32, generation: UInt16, epoch: UInt8)
    /// The user's patience for the first frame runs out.
    case patience(session: UInt32, generation: UInt16)
    /// The user has watched what they meant to.
    case sessionEnd(session: UInt32, generation: UInt16)
    case fillDone(fill: UInt32, epoch: UInt16)
    /// A site's fill window opens (and its daily plan is made), or closes.
    case windowOpens(pop: UInt16)
    case windowCloses(pop: UInt16)
    /// A title is released (index into the catalog's releases).
    case release(index: UInt32)
    /// Per-bucket sampling of what is not event-driven (the age of the oldest fill job).
    case sample
    /// A client reports its activity.
    case flush(session: UInt32, generation: UInt16)
    /// A log partition's aggregator has read its next batch.
    case logRead(partition: UInt16)
    /// A client tries again to send what it holds.
    case activityRetry(buffer: UInt32, generation: UInt16)
    /// The aggregators publish the data sets.
    case publish
    /// A fault strikes, or ends.
    case faultStarts(incident: UInt32)
    case faultEnds(incident: UInt32)
    /// A player whose PoP failed tries the next one.
    case failover(session: UInt32, generation: UInt16)
    /// A surge brings another session.
    case surgeArrival(incident: UInt32, index: UInt16)
    /// A partition's client append reaches the shared log (the log's world only).
    case land(index: UInt32)
    /// The control plane's (``ControlPlane/Kind``): a request's send, timeout or answer, a call's service.
    case control(id: UInt32, generation: UInt16, kind: UInt8)
}
