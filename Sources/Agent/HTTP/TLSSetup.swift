import Config
import HummingbirdTLS
import NIOSSL

/// `tls_server_config` → the TLS library's server configuration. Every file is parsed here,
/// before the server listens, so a bad certificate or a key that does not match it stops
/// `phasewatch run` with an error that names the file and the key, like the loader's own
/// errors, instead of failing each handshake later. Errors never quote a file's content.
enum TLSSetup {
    static func configuration(_ tls: TLSServerConfig, in web: WebConfig) throws(ConfigErrors) -> TLSConfiguration {
        var errors: [ConfigError] = []
        func load<T>(_ key: String, _ what: String, _ path: String, _ body: (String) throws -> T) -> T? {
            do {
                return try body(path)
            } catch {
                errors.append(web.error("tls_server_config.\(key)", "cannot load the \(what) in \(path): \(error)"))
                return nil
            }
        }
        let chain = load("cert_file", "certificate", tls.certFile) { try NIOSSLCertificate.fromPEMFile($0) }
        let key = load("key_file", "private key", tls.keyFile) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        let clientCAs = tls.clientCAFile.flatMap { path in
            load("client_ca_file", "CA certificates", path) { try NIOSSLCertificate.fromPEMFile($0) }
        }
        guard errors.isEmpty, let chain, let key else { throw ConfigErrors(errors: errors) }

        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = version(tls.minVersion)
        configuration.maximumTLSVersion = version(tls.maxVersion)
        switch tls.clientAuth {
        case .noClientCert:
            configuration.certificateVerification = .none
        case .verifyClientCertIfGiven:
            configuration.certificateVerification = .optionalVerification
        case .requireAndVerifyClientCert:
            // A server has no host name to check a client against: the CA's signature is the check.
            configuration.certificateVerification = .noHostnameVerification
        }
        if let clientCAs {
            // Only these CAs, never the system store: any public CA could otherwise vouch for a client.
            configuration.trustRoots = .certificates(clientCAs)
            configuration.sendCANameList = true
        }
        // The TLS library checks the key against the certificate when a context is made; making
        // one now turns a mismatch into a startup error instead of a failure of every handshake.
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigErrors(errors: [
                web.error("tls_server_config.key_file", "the TLS library refused the key and certificate pair (does \(tls.keyFile) belong to \(tls.certFile)?): \(error)")
            ])
        }
        return configuration
    }

    private static func version(_ version: Config.TLSVersion) -> NIOSSL.TLSVersion {
        switch version {
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
    }
}
