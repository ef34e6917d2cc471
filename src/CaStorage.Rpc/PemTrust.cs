using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CaStorage.Rpc;

/// <summary>
/// Trust in certificates issued by a private CA given as a PEM bundle (mutual TLS of the admin port): the system's
/// roots play no part, so a certificate from any public CA is refused unless its CA is in the bundle.
/// </summary>
public sealed class PemTrust
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2Collection _roots;

    private PemTrust(X509Certificate2Collection roots) => _roots = roots;

    /// <summary>Reads the CA certificates of a PEM file; a missing file or one without certificates is an error.</summary>
    public static PemTrust FromFile(string path)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ArgumentException($"cannot read CA certificates from '{path}': {ex.Message}", ex);
        }
        if (roots.Count == 0) throw new ArgumentException($"'{path}' holds no PEM certificate");
        return new PemTrust(roots);
    }

    /// <summary>Reads a certificate (PEM, with its chain) and its private key (PEM, in the same or its own file).</summary>
    public static X509Certificate2 LoadCertificate(string certificatePath, string? keyPath)
    {
        try
        {
            var cert = X509Certificate2.CreateFromPemFile(certificatePath, string.IsNullOrEmpty(keyPath) ? null : keyPath);
            // SslStream on Linux wants a certificate whose key is not ephemeral (a PKCS#12 round trip gives that).
            return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ArgumentException($"cannot load certificate '{certificatePath}' with key '{keyPath ?? certificatePath}': {ex.Message}", ex);
        }
    }

    /// <summary>Does a client's certificate chain to one of the roots (and allow client authentication)?</summary>
    public bool IsTrustedClient(X509Certificate2? certificate, X509Chain? presented) => Chains(certificate, presented, ClientAuth);

    /// <summary>A server certificate check for <see cref="SslClientAuthenticationOptions.RemoteCertificateValidationCallback"/>:
    /// the chain ends in one of the roots and the name matches (the errors the platform found, less the untrusted root).</summary>
    public bool IsTrustedServer(object sender, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if ((errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0) return false;
        return certificate is not null && Chains(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), presented, ServerAuth);
    }

    private bool Chains(X509Certificate2? certificate, X509Chain? presented, Oid usage)
    {
        if (certificate is null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        // A private CA publishes no revocation lists; removing a client means reissuing the CA or its bundle.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(usage);
        // Intermediates the peer sent along.
        if (presented is not null)
            foreach (var element in presented.ChainElements)
                if (!element.Certificate.Equals(certificate)) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        return chain.Build(certificate);
    }
}
