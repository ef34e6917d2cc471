using System.Buffers.Binary;
using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

public sealed class NtlmServerContextTests
{
    private static readonly DateTimeOffset Now = new(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private static NtlmServerOptions Options(bool allowGuest = false, bool allowAnonymous = false) => new()
    {
        NetBiosComputerName = "FILESRV",
        NetBiosDomainName = "CORP",
        DnsComputerName = "filesrv.corp.example",
        DnsDomainName = "corp.example",
        AllowGuest = allowGuest,
        AllowAnonymous = allowAnonymous,
        TimeProvider = new FixedTimeProvider(Now),
        ServerChallengeFactory = () => Convert.FromHexString("1122334455667788"),
    };

    private static TestUserStore Users() => new TestUserStore().Add("alice", "Secr3t!").Add("Bob", "hunter2");

    private static (NtlmServerContext Server, NtlmAuthResult Result) Run(TestNtlmClient client, NtlmServerOptions? options = null, INtlmUserStore? users = null)
    {
        var server = new NtlmServerContext(users ?? Users(), options ?? Options());
        Assert.Equal(NtStatus.MoreProcessingRequired, server.ProcessNegotiate(client.Negotiate(), out var challenge));
        var result = server.ProcessAuthenticate(client.Authenticate(challenge));
        return (server, result);
    }

    [Fact]
    public void Challenge_HasRequestedFlagsTargetInfoAndVersion()
    {
        var client = new TestNtlmClient("alice", "CORP", "Secr3t!");
        var server = new NtlmServerContext(Users(), Options());
        Assert.Equal(NtStatus.MoreProcessingRequired, server.ProcessNegotiate(client.Negotiate(), out var challenge));

        Assert.Equal("NTLMSSP\0", Encoding.ASCII.GetString(challenge, 0, 8));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(8)));
        var flags = (NtlmNegotiateFlags)BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(20));
        var expected = NtlmNegotiateFlags.Unicode | NtlmNegotiateFlags.RequestTarget | NtlmNegotiateFlags.Sign
            | NtlmNegotiateFlags.Seal | NtlmNegotiateFlags.Ntlm | NtlmNegotiateFlags.AlwaysSign
            | NtlmNegotiateFlags.TargetTypeServer | NtlmNegotiateFlags.ExtendedSessionSecurity
            | NtlmNegotiateFlags.TargetInfo | NtlmNegotiateFlags.Version | NtlmNegotiateFlags.Negotiate128
            | NtlmNegotiateFlags.KeyExchange | NtlmNegotiateFlags.Negotiate56;
        Assert.Equal(expected, flags);
        Assert.Equal("1122334455667788", Convert.ToHexString(challenge.AsSpan(24, 8)));
        Assert.Equal(10, challenge[48]); // Version.ProductMajorVersion
        Assert.Equal(0x0F, challenge[55]); // NTLMSSP_REVISION_W2K3

        int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(challenge.AsSpan(12));
        int nameOff = (int)BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(16));
        Assert.Equal("FILESRV", Encoding.Unicode.GetString(challenge, nameOff, nameLen));

        int tiLen = BinaryPrimitives.ReadUInt16LittleEndian(challenge.AsSpan(40));
        int tiOff = (int)BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(44));
        Assert.Equal(challenge.Length, tiOff + tiLen);
        var ti = challenge.AsSpan(tiOff, tiLen);
        Assert.True(NtlmWire.TryFindAvPair(ti, NtlmAvId.NbComputerName, out var v, out bool f) && f);
        Assert.Equal("FILESRV", Encoding.Unicode.GetString(v));
        Assert.True(NtlmWire.TryFindAvPair(ti, NtlmAvId.NbDomainName, out v, out f) && f);
        Assert.Equal("CORP", Encoding.Unicode.GetString(v));
        Assert.True(NtlmWire.TryFindAvPair(ti, NtlmAvId.DnsComputerName, out v, out f) && f);
        Assert.Equal("filesrv.corp.example", Encoding.Unicode.GetString(v));
        Assert.True(NtlmWire.TryFindAvPair(ti, NtlmAvId.DnsDomainName, out v, out f) && f);
        Assert.Equal("corp.example", Encoding.Unicode.GetString(v));
        Assert.True(NtlmWire.TryFindAvPair(ti, NtlmAvId.Timestamp, out v, out f) && f);
        Assert.Equal(Now.ToFileTime(), BinaryPrimitives.ReadInt64LittleEndian(v));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(ti[^4..])); // MsvAvEOL
    }

    [Fact]
    public void Challenge_ClientWithoutSigningOrKeyExchange_IsNotOffered()
    {
        var client = new TestNtlmClient("alice", "CORP", "Secr3t!")
        {
            Flags = NtlmNegotiateFlags.Unicode | NtlmNegotiateFlags.Ntlm | NtlmNegotiateFlags.ExtendedSessionSecurity,
        };
        var server = new NtlmServerContext(Users(), Options());
        server.ProcessNegotiate(client.Negotiate(), out var challenge);
        var flags = (NtlmNegotiateFlags)BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(20));
        Assert.Equal(0u, (uint)(flags & (NtlmNegotiateFlags.Sign | NtlmNegotiateFlags.Seal | NtlmNegotiateFlags.KeyExchange | NtlmNegotiateFlags.Version)));
        Assert.Equal(0, challenge[48]); // Version zero-filled when not negotiated
    }

    [Fact]
    public void Authenticate_CorrectPassword_SucceedsWithExportedSessionKey()
    {
        var client = new TestNtlmClient("alice", "CORP", "Secr3t!");
        var (server, result) = Run(client);

        Assert.Equal(NtStatus.Success, result.Status);
        Assert.Equal("alice", result.UserName);
        Assert.Equal("CORP", result.DomainName);
        Assert.Equal("WORKSTATION1", result.Workstation);
        Assert.False(result.IsGuest);
        Assert.False(result.IsAnonymous);
        Assert.NotNull(result.SessionKey);
        Assert.Equal(client.ExportedSessionKey, result.SessionKey);
        Assert.True(server.AuthenticateHadMic);
        Assert.True(server.SupportsIntegrity);
        Assert.Same(result, server.Result);
    }

    [Fact]
    public void Authenticate_UserNameCaseInsensitiveAndDomainUpperCasedForHash_Succeeds()
    {
        // The store lookup is case-insensitive; NTOWFv2 upper-cases the user itself.
        var client = new TestNtlmClient("ALICE", "corp", "Secr3t!") { DomainForHash = "CORP" };
        var (_, result) = Run(client);
        Assert.Equal(NtStatus.Success, result.Status);
        Assert.Equal("ALICE", result.UserName);
    }

    [Fact]
    public void Authenticate_WithoutKeyExchange_SessionKeyIsSessionBaseKey()
    {
        var client = new TestNtlmClient("Bob", "", "hunter2")
        {
            Flags = TestNtlmClient.DefaultFlags & ~NtlmNegotiateFlags.KeyExchange,
        };
        var (server, result) = Run(client);
        Assert.Equal(NtStatus.Success, result.Status);
        Assert.Equal(client.ExportedSessionKey, result.SessionKey);
        Assert.True(server.SupportsIntegrity);
    }

    [Fact]
    public void Authenticate_WithoutMic_StillSucceeds()
    {
        var client = new TestNtlmClient("alice", "CORP", "Secr3t!") { IncludeMic = false };
        var (server, result) = Run(client);
        Assert.Equal(NtStatus.Success, result.Status);
        Assert.False(server.AuthenticateHadMic);
    }

    [Fact]
    public void Authenticate_WrongPassword_LogonFailure()
    {
        var (server, result) = Run(new TestNtlmClient("alice", "CORP", "wrong"));
        Assert.Equal(NtStatus.LogonFailure, result.Status);
        Assert.Equal("alice", result.UserName);
        Assert.Null(result.SessionKey);
        Assert.False(server.SupportsIntegrity);
    }

    [Fact]
    public void Authenticate_WrongPasswordWithGuestAllowed_StillLogonFailure()
    {
        var (_, result) = Run(new TestNtlmClient("alice", "CORP", "wrong"), Options(allowGuest: true));
        Assert.Equal(NtStatus.LogonFailure, result.Status);
        Assert.False(result.IsGuest);
    }

    [Fact]
    public void Authenticate_UnknownUser_LogonFailure()
    {
        var (_, result) = Run(new TestNtlmClient("mallory", "CORP", "x"));
        Assert.Equal(NtStatus.LogonFailure, result.Status);
        Assert.False(result.IsGuest);
    }

    [Fact]
    public void Authenticate_UnknownUserWithGuestAllowed_IsGuestWithoutKey()
    {
        var (server, result) = Run(new TestNtlmClient("mallory", "CORP", "x"), Options(allowGuest: true));
        Assert.Equal(NtStatus.Success, result.Status);
        Assert.True(result.IsGuest);
        Assert.False(result.IsAnonymous);
        Assert.Equal("mallory", result.UserName);
        Assert.Null(result.SessionKey);
        Assert.False(server.SupportsIntegrity);
    }

    [Fact]
    public void Authenticate_Anonymous_RefusedUnlessAllowed()
    {
        var (_, refused) = Run(new TestNtlmClient("", "", "") { Anonymous = true });
        Assert.Equal(NtStatus.LogonFailure, refused.Status);

        var (server, allowed) = Run(new TestNtlmClient("", "", "") { Anonymous = true }, Options(allowAnonymous: true));
        Assert.Equal(NtStatus.Success, allowed.Status);
        Assert.True(allowed.IsAnonymous);
        Assert.False(allowed.IsGuest);
        Assert.Null(allowed.SessionKey);
        Assert.False(server.SupportsIntegrity);
    }

    [Fact]
    public void Authenticate_NtlmV1Response_LogonFailure()
    {
        var (_, result) = Run(new TestNtlmClient("alice", "CORP", "Secr3t!") { SendNtlmV1Response = true });
        Assert.Equal(NtStatus.LogonFailure, result.Status);
    }

    [Fact]
    public void Authenticate_BeforeNegotiate_InvalidParameter()
    {
        var server = new NtlmServerContext(Users(), Options());
        Assert.Equal(NtStatus.InvalidParameter, server.ProcessAuthenticate(new byte[100]).Status);
    }

    [Fact]
    public void Authenticate_Twice_SecondIsInvalidParameter()
    {
        var client = new TestNtlmClient("alice", "CORP", "Secr3t!");
        var server = new NtlmServerContext(Users(), Options());
        server.ProcessNegotiate(client.Negotiate(), out var challenge);
        var auth = client.Authenticate(challenge);
        Assert.Equal(NtStatus.Success, server.ProcessAuthenticate(auth).Status);
        Assert.Equal(NtStatus.InvalidParameter, server.ProcessAuthenticate(auth).Status);
    }

    [Fact]
    public void Negotiate_Malformed_InvalidParameter()
    {
        var server = new NtlmServerContext(Users(), Options());
        Assert.Equal(NtStatus.InvalidParameter, server.ProcessNegotiate("NTLMSSP\0\u0002\0\0\0\0\0\0\0"u8, out var challenge));
        Assert.Empty(challenge);
    }

    [Fact]
    public void Negotiate_EveryTruncation_NoThrowAndNoChallenge()
    {
        var negotiate = new TestNtlmClient("a", "b", "c").Negotiate();
        for (int n = 0; n < NtlmNegotiateMessage.MinimumLength; n++)
        {
            var server = new NtlmServerContext(Users(), Options());
            Assert.Equal(NtStatus.InvalidParameter, server.ProcessNegotiate(negotiate.AsSpan(0, n), out _));
        }
    }

    [Fact]
    public void Signatures_ClientAndServer_VerifyEachOtherInSequence()
    {
        var client = new TestNtlmClient("alice", "CORP", "Secr3t!");
        var (server, result) = Run(client);
        Assert.Equal(NtStatus.Success, result.Status);

        var data = "mechTypes"u8.ToArray();
        for (int i = 0; i < 3; i++)
        {
            var fromClient = client.MakeSignature(data);
            Assert.Equal((uint)i, BinaryPrimitives.ReadUInt32LittleEndian(fromClient.AsSpan(12)));
            Assert.True(server.VerifySignature(data, fromClient), $"client signature {i}");

            var fromServer = server.MakeSignature(data);
            Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(fromServer));
            Assert.True(client.VerifySignature(data, fromServer), $"server signature {i}");
        }
    }

    [Fact]
    public void VerifySignature_TamperedOrReplayed_Fails()
    {
        var client = new TestNtlmClient("alice", "CORP", "Secr3t!");
        var (server, _) = Run(client);
        var data = "payload"u8.ToArray();

        var sig = client.MakeSignature(data);
        var bad = (byte[])sig.Clone();
        bad[6] ^= 1;
        Assert.False(server.VerifySignature(data, bad));

        // The failed attempt consumed sequence number 0; a replay of the same signature is out of sequence.
        Assert.False(server.VerifySignature(data, sig));
        Assert.False(server.VerifySignature(data, sig.AsSpan(0, 15)));
    }

    [Fact]
    public void Signatures_UnavailableWithoutSessionKey()
    {
        var (server, _) = Run(new TestNtlmClient("mallory", "CORP", "x"), Options(allowGuest: true));
        Assert.False(server.VerifySignature("x"u8, new byte[16]));
        Assert.Throws<InvalidOperationException>(() => server.MakeSignature("x"u8));
    }

    [Fact]
    public void Authenticate_EveryTruncation_NoThrowAndNoSuccess()
    {
        var client = new TestNtlmClient("alice", "CORP", "Secr3t!");
        var first = new NtlmServerContext(Users(), Options());
        var negotiate = client.Negotiate();
        first.ProcessNegotiate(negotiate, out var challenge);
        var auth = client.Authenticate(challenge);

        for (int n = 0; n < auth.Length; n++)
        {
            var server = new NtlmServerContext(Users(), Options());
            server.SetChallengeStateForTest(negotiate, challenge);
            var result = server.ProcessAuthenticate(auth.AsSpan(0, n));
            Assert.NotEqual(NtStatus.Success, result.Status);
            Assert.Null(result.SessionKey);
        }

        var full = new NtlmServerContext(Users(), Options());
        full.SetChallengeStateForTest(negotiate, challenge);
        Assert.Equal(NtStatus.Success, full.ProcessAuthenticate(auth).Status);
    }

    [Fact]
    public void Authenticate_RandomMutations_NeverThrowAndNeverSucceed()
    {
        var client = new TestNtlmClient("alice", "CORP", "Secr3t!");
        var first = new NtlmServerContext(Users(), Options());
        var negotiate = client.Negotiate();
        first.ProcessNegotiate(negotiate, out var challenge);
        var auth = client.Authenticate(challenge);
        var random = new Random(1234);

        for (int iteration = 0; iteration < 3000; iteration++)
        {
            var mutated = (byte[])auth.Clone();
            int flips = random.Next(1, 4);
            for (int k = 0; k < flips; k++)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            if (mutated.AsSpan().SequenceEqual(auth))
            {
                continue;
            }

            var server = new NtlmServerContext(Users(), Options(allowGuest: iteration % 2 == 0));
            server.SetChallengeStateForTest(negotiate, challenge);
            var result = server.ProcessAuthenticate(mutated);

            // A mutation may land in ignored bytes (Version, MaxLen, padding) and still authenticate;
            // it must then yield the genuine session key. Otherwise it fails, or at worst maps to guest.
            if (result.Status == NtStatus.Success && !result.IsGuest)
            {
                Assert.Equal(client.ExportedSessionKey, result.SessionKey);
            }
        }
    }
}
