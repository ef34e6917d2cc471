using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CaStorage.Rpc;
using CaStorage.Server;
using CaStorage.Server.Configuration;

namespace CaStorage.Admin.Tests;

/// <summary>
/// Who may reach the admin port: a non-loopback address needs a token or mutual TLS, and the TLS files are checked
/// before anything listens. The handshake itself is tested with a real client (tests/admin, python3-grpcio).
/// </summary>
public sealed class AdminTlsPlanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("castorage-tls.").FullName;
    private readonly string _ca, _cert, _key, _client, _clientKey, _rogue, _rogueKey;

    public AdminTlsPlanTests()
    {
        using var ca = NewCa("test CA");
        _ca = Write("ca.crt", ca.ExportCertificatePem());
        (_cert, _key) = Issue(ca, "server", "1.3.6.1.5.5.7.3.1");
        (_client, _clientKey) = Issue(ca, "client", "1.3.6.1.5.5.7.3.2");
        using var rogueCa = NewCa("rogue CA");
        (_rogue, _rogueKey) = Issue(rogueCa, "rogue", "1.3.6.1.5.5.7.3.2");
    }

    private static X509Certificate2 NewCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private (string Cert, string Key) Issue(X509Certificate2 issuer, string name, string usage)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        using var cert = request.Create(issuer, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3, (byte)name.Length]);
        return (Write($"{name}.crt", cert.ExportCertificatePem()), Write($"{name}.key", key.ExportPkcs8PrivateKeyPem()));
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static CaStorageOptions Options(string listen, string? cert = null, string? key = null, string? clientCa = null) => new()
    {
        Admin = new AdminOptions { Listen = listen, MetricsListen = "off", Tls = new AdminTlsOptions { Certificate = cert, Key = key, ClientCa = clientCa } },
    };

    [Fact]
    public void NonLoopback_WithMutualTls_IsAllowedWithoutAToken()
    {
        AdminComposition.Plan(Options("0.0.0.0:4460", _cert, _key, _ca));
    }

    [Fact]
    public void NonLoopback_WithServerTlsOnly_StillNeedsAToken()
    {
        var ex = Assert.Throws<ConfigurationException>(() => AdminComposition.Plan(Options("0.0.0.0:4460", _cert, _key)));
        Assert.Contains("mutual TLS", ex.Message);
    }

    [Fact]
    public void ClientCaWithoutCertificate_OrMissingFiles_AreConfigurationErrors()
    {
        Assert.Throws<ConfigurationException>(() => AdminComposition.Plan(Options("127.0.0.1:4460", clientCa: _ca)));
        var ex = Assert.Throws<ConfigurationException>(() => AdminComposition.Plan(Options("127.0.0.1:4460", _cert, Path.Combine(_dir, "none.key"))));
        Assert.Contains("none.key", ex.Message);
        ex = Assert.Throws<ConfigurationException>(() => AdminComposition.Plan(Options("127.0.0.1:4460", _cert, _key, _key)));
        Assert.Contains("no PEM certificate", ex.Message);
    }

    [Fact]
    public void ClientCertificates_AreTrustedOnlyFromTheConfiguredCa_AndOnlyForClientAuth()
    {
        var trust = PemTrust.FromFile(_ca);
        using var client = PemTrust.LoadCertificate(_client, _clientKey);
        using var server = PemTrust.LoadCertificate(_cert, _key);
        using var rogue = PemTrust.LoadCertificate(_rogue, _rogueKey);
        Assert.True(trust.IsTrustedClient(client, null));
        Assert.False(trust.IsTrustedClient(rogue, null));
        Assert.False(trust.IsTrustedClient(server, null)); // issued for server auth only
        Assert.False(trust.IsTrustedClient(null, null));
        Assert.True(client.HasPrivateKey);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
