import ArgumentParser
import Foundation
import Probing

@main
struct PhaseWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phasewatch",
        abstract: "Synthetic HTTP/TLS probes with exact per-phase timings.",
        version: PhaseWatchVersion.full,
        subcommands: [RunCommand.self, ProbeCommand.self, CheckConfigCommand.self, RulesCommand.self, ReportCommand.self],
        defaultSubcommand: RunCommand.self
    )

    /// docs/cli.md: exit 2 on bad usage (ArgumentParser's own default is 64).
    static func main() async {
        // SIGHUP's default action kills: `systemctl reload` during startup must not. `run`
        // takes over SIGHUP, SIGTERM and SIGINT once its logger exists (ProcessSignals).
        signal(SIGHUP, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
