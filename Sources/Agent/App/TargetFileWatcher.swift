import Foundation
import ServiceLifecycle

/// Polls the target files every `interval` (`--target-files.poll-interval`): when one was added,
/// changed (size, modification time, inode) or removed, the runtime reads them again and applies
/// their targets without a reload (docs/config.md#target_files). Polling rather than inotify:
/// one stat per file every few seconds costs nothing, and it also sees files on network mounts
/// and directories created after the agent started.
public struct TargetFileWatcher: Service {
    public static let defaultInterval: Duration = .seconds(10)

    let runtime: AgentRuntime
    let interval: Duration

    public init(runtime: AgentRuntime, interval: Duration = Self.defaultInterval) {
        self.runtime = runtime
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                runtime.rereadTargetFiles()
            }
        }
    }
}
