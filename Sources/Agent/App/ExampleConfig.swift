/// The config `phasewatch` runs with when no `--config.file` is given and there is no
/// `phasewatch.yml`: it works offline by probing the agent's own endpoints, so a newcomer sees
/// data within seconds. `LISTEN` is replaced by the address the agent listens on.
public enum ExampleConfig {
    public static func yaml(listen: String) -> String {
        template.replacingOccurrences(of: "LISTEN", with: listen)
    }

    private static let template = """
        # Built-in example: phasewatch probing itself. Copy examples/phasewatch.yml to start your own.
        global:
          interval: 5s
          timeout: 2s
          location: local
        targets:
          - name: agent-health
            url: http://LISTEN/-/healthy
            expect:
              status: [200]
              body_matches: "Healthy"
            slo:
              window: 1d
              availability: 99.9
              latency: {threshold: 50ms, objective: 99}
          - name: agent-metrics
            url: http://LISTEN/metrics
            interval: 10s
            expect:
              headers: {Content-Type: "^text/plain"}
          - name: closed-port
            # Nothing listens here: shows what a failing target looks like (connect / connect_refused).
            url: http://127.0.0.1:9/
            interval: 15s
        """
}
