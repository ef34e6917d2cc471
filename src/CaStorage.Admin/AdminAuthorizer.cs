using System.Security.Cryptography;
using System.Text;
using CaStorage.Rpc;

namespace CaStorage.Admin;

/// <summary>
/// Bearer-token check of admin calls ("authorization: Bearer TOKEN" metadata). Without a token configured every call
/// is allowed (the admin port is then loopback only: the host refuses any other address without a token). Health
/// checks stay open: Kubernetes gRPC probes cannot send metadata, and health tells nothing but up or down.
/// </summary>
public sealed class AdminAuthorizer
{
    private readonly byte[]? _tokenHash;

    public AdminAuthorizer(string? token) => _tokenHash = string.IsNullOrEmpty(token) ? null : Hash(token);

    public bool RequiresToken => _tokenHash is not null;

    /// <summary>Throws UNAUTHENTICATED unless the call may proceed.</summary>
    public void Authorize(RpcCallContext call)
    {
        if (_tokenHash is null || call.Method.StartsWith("/grpc.health.v1.Health/", StringComparison.Ordinal)) return;
        if (!IsValid(call.GetHeader("authorization"))) throw new RpcException(RpcStatusCode.Unauthenticated, "a valid bearer token is required (castorctl --token)");
    }

    /// <summary>Checks an HTTP Authorization header value.</summary>
    public bool IsValid(string? authorization)
    {
        if (_tokenHash is null) return true;
        const string prefix = "Bearer ";
        if (authorization is null || !authorization.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        // Comparing fixed-size hashes in constant time leaks neither the token's bytes nor its length.
        return CryptographicOperations.FixedTimeEquals(Hash(authorization[prefix.Length..].Trim()), _tokenHash);
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
