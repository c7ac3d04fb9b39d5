#!/usr/bin/env python3
"""Generate test certificates for phasewatch tests.

Usage: python3 mkcerts.py DIR

Writes PEM files (X.pem + X.key) into DIR (created if missing). EC P-256 keys,
SHA-256 signatures, all validity relative to now (UTC). Idempotent: existing
files are overwritten. Prints nothing on success.
"""
import datetime
import ipaddress
import os
import sys

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except Exception as e:  # pragma: no cover
    sys.stderr.write("mkcerts: cannot import cryptography: %s\n" % e)
    sys.exit(2)

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)

SERVER_SANS = [
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    x509.IPAddress(ipaddress.ip_address("::1")),
]


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(subject_cn, key, issuer_cert, issuer_key, not_before, not_after,
              ca=False, sans=None, eku=None):
    subject = name(subject_cn)
    issuer = issuer_cert.subject if issuer_cert is not None else subject
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before)
         .not_valid_after(not_after))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    else:
        b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=True, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    if issuer_cert is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False)
    signer = issuer_key if issuer_key is not None else key
    return b.sign(signer, hashes.SHA256())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write(path, data, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: mkcerts.py DIR\n")
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)

    def save(base, cert, key):
        write(os.path.join(out, base + ".pem"), cert_pem(cert))
        write(os.path.join(out, base + ".key"), key_pem(key), 0o600)

    server_eku = [ExtendedKeyUsageOID.SERVER_AUTH]
    client_eku = [ExtendedKeyUsageOID.CLIENT_AUTH]

    # Root CA
    ca_key = new_key()
    ca = make_cert("phasewatch test CA", ca_key, None, None,
                   NOW - DAY, NOW + 3650 * DAY, ca=True)
    save("ca", ca, ca_key)

    def leaf(base, cn, nb, na, sans=SERVER_SANS, issuer=ca, issuer_key=ca_key):
        k = new_key()
        c = make_cert(cn, k, issuer, issuer_key, nb, na, sans=sans, eku=server_eku)
        save(base, c, k)
        return c, k

    leaf("server", "localhost", NOW - DAY, NOW + 90 * DAY)
    leaf("expired", "localhost", NOW - 30 * DAY, NOW - 2 * DAY)
    leaf("notyet", "localhost", NOW + 10 * DAY, NOW + 100 * DAY)
    leaf("wronghost", "wrong.example", NOW - DAY, NOW + 90 * DAY,
         sans=[x509.DNSName("wrong.example")])
    leaf("expiring", "localhost", NOW - DAY, NOW + 5 * DAY)

    # Self-signed leaf (not issued by ca)
    ss_key = new_key()
    ss = make_cert("localhost", ss_key, None, None, NOW - DAY, NOW + 90 * DAY,
                   sans=SERVER_SANS, eku=server_eku)
    save("selfsigned", ss, ss_key)

    # Intermediate + chain leaf
    int_key = new_key()
    inter = make_cert("phasewatch test intermediate", int_key, ca, ca_key,
                      NOW - DAY, NOW + 60 * DAY, ca=True)
    save("intermediate", inter, int_key)
    cl, cl_key = leaf("chainleaf", "localhost", NOW - DAY, NOW + 90 * DAY,
                      issuer=inter, issuer_key=int_key)
    write(os.path.join(out, "chain.pem"), cert_pem(cl) + cert_pem(inter))

    # Client CA + client certs
    cca_key = new_key()
    cca = make_cert("phasewatch client CA", cca_key, None, None,
                    NOW - DAY, NOW + 3650 * DAY, ca=True)
    save("client-ca", cca, cca_key)
    for base, cn in (("client1", "client-one"), ("client2", "client-two")):
        k = new_key()
        c = make_cert(cn, k, cca, cca_key, NOW - DAY, NOW + 90 * DAY, eku=client_eku)
        save(base, c, k)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except SystemExit:
        raise
    except Exception as e:
        sys.stderr.write("mkcerts: failed: %s: %s\n" % (type(e).__name__, e))
        sys.exit(1)
