import Agent
import ArgumentParser
import Config
import Foundation
import PhaseWatchCore
import Storage

/// `phasewatch report`: a target's report read straight from the database (docs/cli.md#phasewatch-report),
/// the same `Report` the API serves.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print a target's availability, latency, coverage and downtime per hour, day, week or month.",
        discussion: """
            Reads the database of the config (or --storage.path) without locking or changing it, so it \
            runs next to an agent that is writing it. Periods are calendar periods in --tz: days from \
            midnight, weeks from Monday, months from the 1st. The numbers are those of \
            GET /api/v1/targets/{name}/report (docs/api.md#get-apiv1targetsnamereport).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @Option(name: .customLong("config.file"), help: "Configuration file (YAML).")
    var configFile: String = "phasewatch.yml"

    @Option(name: .customLong("storage.path"), help: "SQLite database file (overrides storage.path in the config).")
    var storagePath: String?

    @Option(name: .customLong("target"), help: "The configured target to report on.")
    var target: String

    @Option(name: .customLong("from"), help: ArgumentHelp("Start: an RFC 3339 time or a date (midnight in --tz).", valueName: "time"))
    var from: String

    @Option(name: .customLong("to"), help: ArgumentHelp("End (excluded): an RFC 3339 time or a date.", valueName: "time"))
    var to: String

    @Option(name: .customLong("step"), help: "Period length: 1m, 1h, 1d, 1w or 1M.")
    var step: String = ReportStep.day.rawValue

    @Option(name: .customLong("tz"), help: ArgumentHelp("IANA time zone of the calendar periods.", valueName: "zone"))
    var tz: String = "UTC"

    @Option(name: .customLong("format"), help: "table (aligned columns), csv or json.")
    var format: Format = .table

    func run() async throws {
        let query: ReportQuery
        do {
            query = try ReportQuery(.init(from: from, to: to, step: step, tz: tz))
        } catch let invalid as ReportQuery.Invalid {
            throw ValidationError("--\(invalid.message)")
        }
        do {
            var config = try ConfigLoader.load(path: configFile)
            if let storagePath { config.storage.path = storagePath }
            guard let configured = config.targets.first(where: { $0.name == target }) else {
                throw ReportFailure(message: "no target named \"\(target)\" in \(configFile)")
            }
            let store = try ProbeStore(readingOnly: config.storage.path)
            let report = try await Report.make(
                target: configured, from: query.from, to: query.to, step: query.step, timeZone: query.timeZone, store: store, now: Date())
            switch format {
            case .table: print(report.table, terminator: "")
            case .csv: print(report.csv, terminator: "")
            case .json: print(String(decoding: try ProbeResult.makeEncoder(pretty: true).encode(report), as: UTF8.self))
            }
        } catch let problem as ReportPeriods.Problem {
            throw ValidationError("\(problem)")
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    private struct ReportFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
