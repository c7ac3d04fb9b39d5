@testable import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TestSupport
import Testing

/// The status page in a real browser: headless Chromium (Debian's `chromium`) loads it from the
/// live agent on 127.0.0.1 and must render every target without a console error, on a desktop
/// and at a phone's width.
@Suite(.serialized)
struct StatusPageBrowserTests {
    @Test(.requires(.chromium)) func chromiumRendersThePageWithoutErrors() async throws {
        let chromium = try #require(Tool.chromium.path)
        let runtime = try await StatusPageFixture.makeRuntime()
        try await StatusPageFixture.makeApp(runtime).test(.live) { client in
            let port = try #require(client.port)
            let url = "http://127.0.0.1:\(port)/"

            let desktop = try await Chromium.run(chromium, ["--window-size=1280,900", "--dump-dom", url], name: "desktop")
            #expect(desktop.status == 0, "\(desktop.stderr)")
            #expect(desktop.consoleProblems.isEmpty, "console: \(desktop.consoleProblems)\n\(desktop.stderr)")
            let dom = desktop.stdout
            for name in StatusPageFixture.names {
                // The DOM serializer escapes only <, > and & in text.
                let text = name.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                    .replacingOccurrences(of: ">", with: "&gt;")
                #expect(dom.contains("<h2>\(text)</h2>"), "\(name) missing from the rendered DOM")
            }
            for state in ["✓ up", "! degraded", "✗ down", "? unknown"] {
                #expect(dom.contains(">\(state)</span>"), "state \(state)")
            }
            #expect(dom.components(separatedBy: "<svg class=\"chart\"").count - 1 == StatusPageFixture.names.count)
            #expect(!dom.contains("<script"))

            // At a phone's width: a screenshot, and the page's content must not be wider than the
            // viewport (measured by a script around a copy of the page, served from another
            // loopback server: the real page runs no script).
            let screenshot = Scratch.dir.appendingPathComponent("status-phone-\(UUID().uuidString).png")
            let phone = try await Chromium.run(
                chromium, ["--window-size=390,844", "--screenshot=\(screenshot.path)", url], name: "phone")
            #expect(phone.status == 0, "\(phone.stderr)")
            #expect(phone.consoleProblems.isEmpty, "console: \(phone.consoleProblems)\n\(phone.stderr)")
            let png = try Data(contentsOf: screenshot)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG: \(screenshot.path)")

            let page = try await client.execute(uri: "/", method: .get) { String(buffer: $0.body) }
            #expect(page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
            #expect(page.contains("@media (max-width:700px)"))
            let measured = try await Chromium.measureWidth(chromium, of: page, width: 390)
            #expect(measured.viewport == 390, "the phone width did not apply: \(measured)")
            #expect(measured.content <= measured.visible, "horizontal scrolling at 390 px: \(measured)")
        }
    }
}

/// Runs headless Chromium on loopback URLs only, with everything that would reach out switched off.
enum Chromium {
    struct Run: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String

        /// Lines where the page wrote to the console or threw: Chromium logs them as `CONSOLE`.
        /// The page runs no script, so any such line is a problem (a CSP violation included).
        var consoleProblems: [Substring] {
            stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        }
    }

    /// `chromium --headless=new ... arguments` to its end (killed after 60 s); stdout and stderr
    /// go to files, so a large DOM never fills a pipe.
    static func run(_ chromium: String, _ arguments: [String], name: String) async throws -> Run {
        let dir = Scratch.dir.appendingPathComponent("chromium-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("stdout")
        let err = dir.appendingPathComponent("stderr")
        for file in [out, err] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["timeout", "-k", "5", "60", chromium,
            // We run as root in CI containers, where Chromium's sandbox cannot start.
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
            "--user-data-dir=\(dir.appendingPathComponent("profile").path)",
            // No connection anywhere but the page's own 127.0.0.1.
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-domain-reliability", "--no-pings",
            "--disable-client-side-phishing-detection", "--disable-extensions", "--disable-breakpad",
        ] + arguments
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = await withCheckedContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(returning: -1)
            }
        }
        return Run(
            status: status, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// Loads `page` in an iframe `width` px wide (a window cannot be made narrower than 500 px
    /// for `--dump-dom`, a frame can) and returns the frame's viewport width, and the widths of
    /// its document's visible area and content; content wider than the area scrolls sideways.
    static func measureWidth(
        _ chromium: String, of page: String, width: Int
    ) async throws -> (viewport: Int, visible: Int, content: Int) {
        let wrapper = """
            <!DOCTYPE html><html><body style="margin:0">
            <iframe id="frame" src="/page" style="width:\(width)px;height:844px;border:0"></iframe>
            <script>addEventListener("load", () => { const frame = document.getElementById("frame");
            const d = frame.contentDocument.documentElement;
            document.body.dataset.measured = [frame.contentWindow.innerWidth, d.clientWidth, d.scrollWidth].join("x"); });
            </script></body></html>
            """
        let router = Router()
        for (path, html) in [("/", wrapper), ("/page", page)] {
            router.get(RouterPath(path)) { _, _ -> Response in
                var headers = HTTPFields()
                headers[.contentType] = "text/html; charset=utf-8"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            let port = try #require(client.port)
            let run = try await run(chromium, ["--window-size=\(width),844", "--dump-dom", "http://127.0.0.1:\(port)/"], name: "measure")
            #expect(run.consoleProblems.isEmpty, "\(run.stderr)")
            guard let range = run.stdout.range(of: #"data-measured="\d+x\d+x\d+""#, options: .regularExpression) else {
                Issue.record("no measurement in the DOM; stderr:\n\(run.stderr)")
                return (0, 0, 0)
            }
            let numbers = run.stdout[range].dropFirst(15).dropLast().split(separator: "x").compactMap { Int($0) }
            return (numbers[0], numbers[1], numbers[2])
        }
    }
}
