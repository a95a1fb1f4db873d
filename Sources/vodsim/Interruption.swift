#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import Reports

/// SIGINT, SIGTERM and SIGHUP: the process removes its staging files, says in one line what is
/// kept, and exits with 128 + the signal's number (130, 143, 129), as shells report a process a
/// signal ended. The simulation runs on the main thread; the signal is taken on a queue of its
/// own, which cleans up and exits without waiting for the simulation to reach a pause.
enum Interruption {
    /// What the line says, decided by the command as it goes ("the previous report at PATH is
    /// kept"); read from the signal's queue.
    final class Message: @unchecked Sendable {
        private let lock = NSLock()
        private var text = "interrupted"
        /// Whether a progress line is on the terminal (to end it first).
        private var progressShown = false

        func set(_ text: String) { lock.lock(); self.text = text; lock.unlock() }
        func setProgressShown(_ shown: Bool) { lock.lock(); progressShown = shown; lock.unlock() }
        var current: (text: String, progress: Bool) { lock.lock(); defer { lock.unlock() }; return (text, progressShown) }
    }

    static let message = Message()
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    private static let queue = DispatchQueue(label: "vodsim.signals")

    /// Takes over SIGINT, SIGTERM and SIGHUP for the rest of the process. Call once, from the
    /// main thread, before anything is written.
    static func install() {
        guard sources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { exit(on: sig) }
            source.resume()
            sources.append(source)
        }
    }

    /// Cleans up, writes the line and exits; never returns.
    static func exit(on sig: Int32) -> Never {
        Staging.shared.cleanUpForExit()
        let (text, progress) = message.current
        fflush(nil)
        let line = (progress ? "\r" + String(repeating: " ", count: 78) + "\r" : "") + text + "\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
        _exit(128 + sig)
    }
}
