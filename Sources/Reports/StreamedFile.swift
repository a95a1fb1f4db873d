#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file written in pieces during a run and put in place only when complete.
///
/// Bytes go through a 1 MiB buffer to a temporary file beside the destination
/// (`.NAME.partial-HOST-PID`); ``commit()`` flushes, syncs and renames it over the destination, so a
/// reader never sees a half-written file and an interrupted run leaves the previous one intact.
/// ``abandon()`` (for a failed run) removes the temporary file, and so does a signal (the file is
/// registered with ``Staging``). The first write error is kept and reported by ``prepare()`` or
/// ``commit()``; later writes are dropped.
public final class StreamedFile {
    public let path: String
    let temporaryPath: String
    var descriptor: Int32
    var buffer: [UInt8] = []
    var failure: String?
    /// Renamed into place: nothing is left to remove.
    var published = false
    static let bufferBytes = 1 << 20

    /// Creates the temporary file; throws if the folder does not exist or is not writable.
    public init(path: String) throws(ReportWriteError) {
        self.path = path
        let url = URL(fileURLWithPath: path)
        Staging.removeStale(beside: url)
        temporaryPath = Staging.path(for: url, kind: "partial").path
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            throw ReportWriteError(path: path, reason: "cannot create the file (\(String(cString: strerror(errno))))")
        }
        Staging.shared.register(temporaryPath)
        buffer.reserveCapacity(StreamedFile.bufferBytes)
    }

    deinit {
        if !published { abandon() }
    }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write($0) }
    }

    public func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= StreamedFile.bufferBytes { flush() }
    }

    /// Appends `value` in decimal.
    public func write(decimal value: Int64) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for i in stride(from: count - 1, through: 0, by: -1) { buffer.append(raw[i]) }
        }
        if buffer.count >= StreamedFile.bufferBytes { flush() }
    }

    public func write(byte: UInt8) { buffer.append(byte) }

    func flush() {
        guard failure == nil else {
            buffer.removeAll(keepingCapacity: true)
            return
        }
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = posixWrite(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered and renames the file into place.
    public func commit() throws(ReportWriteError) {
        try prepare()
        try publish()
    }

    /// Writes what is buffered and syncs it: after this only the rename is left, which
    /// ``publish()`` does.
    public func prepare() throws(ReportWriteError) {
        guard descriptor >= 0 else { return }
        flush()
        if failure == nil && fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        close(descriptor)
        descriptor = -1
        if let failure {
            discard()
            throw ReportWriteError(path: path, reason: "cannot write the file (\(failure))")
        }
    }

    /// Renames the prepared file over the destination.
    public func publish() throws(ReportWriteError) {
        if rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            discard()
            throw ReportWriteError(path: path, reason: "cannot move the file into place (\(reason))")
        }
        published = true
        Staging.shared.unregister(temporaryPath)
    }

    /// Drops the temporary file; the destination is left as it was.
    public func abandon() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        discard()
    }

    func discard() {
        guard !published else { return }
        unlink(temporaryPath)
        Staging.shared.unregister(temporaryPath)
    }
}

/// `write(2)`, named apart from the class's own `write` methods.
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
