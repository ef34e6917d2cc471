using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

public sealed class SpnegoTests
{
    // Security buffers from the Windows 10 client / Windows server exchange published in the MS
    // Open Specifications blog "SMB 3.1.1 Pre-authentication integrity in Windows 10".
    private const string WindowsNegTokenInit =
        "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d53535000010000009782" +
        "08e200000000000000000000000000000000060380250000000f";
    private const string WindowsServerChallengeResp =
        "a181b03081ada0030a0101a10c060a2b06010401823702020aa281970481944e544c4d53535000020000000c000c0038" +
        "00000015828ae20d1d8ba31179d008000000000000000050005000440000000a0092270000000f530055005400330031" +
        "00310002000c0053005500540033003100310001000c0053005500540033003100310004000c00530055005400330031" +
        "00310003000c0053005500540033003100310007000800a1a1f5adcbaed00100000000";
    private const string WindowsNegTokenRespWithMic =
        "a18201cb308201c7a0030a0101a28201aa048201a64e544c4d53535000030000001800180090000000ee00ee00a80000" +
        "000c000c00580000001a001a0064000000120012007e0000001000100096010000158288e2060380250000000fecac77" +
        "a5f385a8bf9c38c706eeeddcd3530055005400330031003100610064006d0069006e006900730074007200610074006f" +
        "00720044005200490056004500520033003100310000000000000000000000000000000000000000000000000063078e" +
        "b639fe03e20a231c3ae3bf23080101000000000000a1a1f5adcbaed001bc4ad05f223cc90f0000000002000c00530055" +
        "00540033003100310001000c0053005500540033003100310004000c0053005500540033003100310003000c00530055" +
        "00540033003100310007000800a1a1f5adcbaed001060004000200000008003000300000000000000000000000003000" +
        "00b61fefcaa857ea57bf1edcebf8974b8e0eba5a6dfd9d07a31d11b548f8c9d0cc0a0010000000000000000000000000" +
        "00000000000900160063006900660073002f005300550054003300310031000000000000000000000000003b9bdff38f" +
        "5ee8f9663f11a0f4c03a78a31204100100000063775a9a5fd97f0600000000";

    private static readonly DateTimeOffset Now = new(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static NtlmServerOptions Options(bool allowGuest = false, bool allowAnonymous = false) => new()
    {
        NetBiosComputerName = "FILESRV",
        NetBiosDomainName = "CORP",
        AllowGuest = allowGuest,
        AllowAnonymous = allowAnonymous,
        TimeProvider = new FixedTimeProvider(Now),
        ServerChallengeFactory = () => Convert.FromHexString("0102030405060708"),
    };

    private static SpnegoServerContext NewServer(bool allowGuest = false, bool allowAnonymous = false)
    {
        var users = new TestUserStore().Add("alice", "Secr3t!");
        return new SpnegoServerContext(() => new NtlmServerContext(users, Options(allowGuest, allowAnonymous)));
    }

    private static TestNtlmClient Alice(string password = "Secr3t!") => new("alice", "CORP", password);

    [Fact]
    public void NegotiateResponseToken_IsExpectedDer()
    {
        var expected =
            "6048" + "06062b0601050502" + "a03e" + "303c" +
            "a00e" + "300c" + "060a2b06010401823702020a" +
            "a32a" + "3028" + "a026" + "1b24" + Convert.ToHexStringLower(Encoding.ASCII.GetBytes("not_defined_in_RFC4178@please_ignore"));
        Assert.Equal(expected, Convert.ToHexStringLower(Spnego.BuildNegotiateResponseToken()));
    }

    [Fact]
    public void NegTokenResp_Encoding_MatchesWindowsServerBytes()
    {
        // Re-encoding the CHALLENGE that Windows sent must reproduce Windows' DER exactly.
        var windows = Convert.FromHexString(WindowsServerChallengeResp);
        var (negState, mech, challenge, mic) = TestSpnegoClient.ParseResp(windows);
        Assert.Equal(1, negState);
        Assert.Equal(Spnego.NtlmSspOid, mech);
        Assert.Null(mic);
        Assert.Equal("NTLMSSP\0", Encoding.ASCII.GetString(challenge!, 0, 8));

        var ours = Spnego.BuildNegTokenResp(SpnegoNegState.AcceptIncomplete, Spnego.NtlmSspOid, challenge, []);
        Assert.Equal(windows, ours);
    }

    [Fact]
    public void NegTokenResp_FinalWithMic_IsExpectedDer()
    {
        var mic = Convert.FromHexString("0100000063775a9a5fd97f0600000000");
        var token = Spnego.BuildNegTokenResp(SpnegoNegState.AcceptCompleted, null, [], mic);
        Assert.Equal("a11b3019a0030a0100a3120410" + "0100000063775a9a5fd97f0600000000", Convert.ToHexStringLower(token));
        Assert.Equal("a1073005a0030a0102", Convert.ToHexStringLower(Spnego.BuildNegTokenResp(SpnegoNegState.Reject, null, [], [])));
    }

    [Fact]
    public void Parse_WindowsNegTokenInit()
    {
        Assert.True(Spnego.TryParse(Convert.FromHexString(WindowsNegTokenInit), out var token));
        Assert.True(token.IsInit);
        Assert.Equal([Spnego.NtlmSspOid], token.MechTypes!);
        Assert.True(NtlmNegotiateMessage.TryParse(token.MechToken, out var negotiate));
        Assert.Equal(0xe2088297u, (uint)negotiate.Flags);
        Assert.Null(token.MechListMic);
    }

    [Fact]
    public void Parse_WindowsNegTokenRespWithAuthenticateAndMic()
    {
        Assert.True(Spnego.TryParse(Convert.FromHexString(WindowsNegTokenRespWithMic), out var token));
        Assert.False(token.IsInit);
        Assert.Equal(SpnegoNegState.AcceptIncomplete, token.NegState);
        Assert.True(NtlmAuthenticateMessage.TryParse(token.ResponseToken, out var auth));
        Assert.Equal("administrator", auth.UserName);
        Assert.Equal("0100000063775a9a5fd97f0600000000", Convert.ToHexStringLower(token.MechListMic!));
    }

    [Fact]
    public void Step_WindowsNegTokenInit_AnswersWithChallenge()
    {
        var server = NewServer();
        Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(Convert.FromHexString(WindowsNegTokenInit), out var output));
        var (negState, mech, challenge, mic) = TestSpnegoClient.ParseResp(output);
        Assert.Equal(1, negState);
        Assert.Equal(Spnego.NtlmSspOid, mech);
        Assert.Null(mic);
        Assert.Equal(2, challenge![8]);
        Assert.Null(server.Result);
        Assert.False(server.IsRawNtlm);
    }

    [Fact]
    public void RoundTrip_NtlmFirstWithMic_SucceedsAndMicsVerify()
    {
        var client = new TestSpnegoClient(Alice());
        var server = NewServer();

        Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(client.InitToken(client.Ntlm.Negotiate()), out var round1));
        var (negState1, mech1, challenge, _) = TestSpnegoClient.ParseResp(round1);
        Assert.Equal(1, negState1);
        Assert.Equal(Spnego.NtlmSspOid, mech1);

        var auth = client.Ntlm.Authenticate(challenge!);
        var clientMic = client.Ntlm.MakeSignature(client.MechTypesDer);
        Assert.Equal(NtStatus.Success, server.Step(TestSpnegoClient.RespToken(auth, clientMic, negState: 1), out var round2));

        var (negState2, mech2, token2, serverMic) = TestSpnegoClient.ParseResp(round2);
        Assert.Equal(0, negState2);
        Assert.Null(mech2);
        Assert.Null(token2);
        Assert.NotNull(serverMic);
        Assert.True(client.Ntlm.VerifySignature(client.MechTypesDer, serverMic));

        var result = server.Result!;
        Assert.Equal(NtStatus.Success, result.Status);
        Assert.Equal("alice", result.UserName);
        Assert.Equal(client.Ntlm.ExportedSessionKey, result.SessionKey);
    }

    [Fact]
    public void RoundTrip_KerberosPreferred_OptimisticTokenIgnoredAndMicRequested()
    {
        var client = new TestSpnegoClient(Alice(), Spnego.MsKerberosOid, Spnego.KerberosOid, Spnego.NegoExOid, Spnego.NtlmSspOid);
        var server = NewServer();

        // An optimistic Kerberos AP-REQ (any bytes; it must not reach NTLM).
        var kerberosToken = Convert.FromHexString("6082010006092a864886f71201020201006e81f03081eda003020105a10302010e");
        Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(client.InitToken(kerberosToken), out var round1));
        var (negState1, mech1, token1, mic1) = TestSpnegoClient.ParseResp(round1);
        Assert.Equal(3, negState1); // request-mic
        Assert.Equal(Spnego.NtlmSspOid, mech1);
        Assert.Null(token1);
        Assert.Null(mic1);

        Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(TestSpnegoClient.RespToken(client.Ntlm.Negotiate(), null), out var round2));
        var (negState2, mech2, challenge, _) = TestSpnegoClient.ParseResp(round2);
        Assert.Equal(1, negState2);
        Assert.Null(mech2); // supportedMech only in the first reply
        Assert.Equal(2, challenge![8]);

        var auth = client.Ntlm.Authenticate(challenge);
        Assert.Equal(NtStatus.Success, server.Step(TestSpnegoClient.RespToken(auth, client.Ntlm.MakeSignature(client.MechTypesDer)), out var round3));
        var (negState3, _, _, serverMic) = TestSpnegoClient.ParseResp(round3);
        Assert.Equal(0, negState3);
        // The MIC covers the client's full mechTypes list (all four OIDs).
        Assert.True(client.Ntlm.VerifySignature(client.MechTypesDer, serverMic));
        Assert.Equal(NtStatus.Success, server.Result!.Status);
    }

    [Fact]
    public void RoundTrip_KerberosPreferred_ClientWithoutAnyMic_CompletesLikeSamba()
    {
        var ntlm = new TestNtlmClient("alice", "CORP", "Secr3t!") { IncludeMic = false };
        var client = new TestSpnegoClient(ntlm, Spnego.KerberosOid, Spnego.NtlmSspOid);
        var server = NewServer();
        server.Step(client.InitToken([0x60, 0x00]), out var round1);
        Assert.Equal(3, TestSpnegoClient.ParseResp(round1).NegState);
        server.Step(TestSpnegoClient.RespToken(ntlm.Negotiate(), null), out var round2);
        var auth = ntlm.Authenticate(TestSpnegoClient.ParseResp(round2).ResponseToken!);

        Assert.Equal(NtStatus.Success, server.Step(TestSpnegoClient.RespToken(auth, null), out var round3));
        var (negState, _, _, mic) = TestSpnegoClient.ParseResp(round3);
        Assert.Equal(0, negState);
        Assert.Null(mic);
    }

    [Fact]
    public void RoundTrip_NtlmFirstWithoutOptimisticToken_SelectsNtlm()
    {
        var client = new TestSpnegoClient(Alice());
        var server = NewServer();
        Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(client.InitToken(null), out var round1));
        var (negState1, mech1, token1, _) = TestSpnegoClient.ParseResp(round1);
        Assert.Equal(1, negState1);
        Assert.Equal(Spnego.NtlmSspOid, mech1);
        Assert.Null(token1);

        Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(TestSpnegoClient.RespToken(client.Ntlm.Negotiate(), null), out var round2));
        var challenge = TestSpnegoClient.ParseResp(round2).ResponseToken!;
        var auth = client.Ntlm.Authenticate(challenge);
        Assert.Equal(NtStatus.Success, server.Step(TestSpnegoClient.RespToken(auth, client.Ntlm.MakeSignature(client.MechTypesDer)), out _));
    }

    [Fact]
    public void RoundTrip_ClientMicDeferred_ServerWaitsOneMoreRound()
    {
        var client = new TestSpnegoClient(Alice());
        var server = NewServer();
        server.Step(client.InitToken(client.Ntlm.Negotiate()), out var round1);
        var auth = client.Ntlm.Authenticate(TestSpnegoClient.ParseResp(round1).ResponseToken!);

        // AUTHENTICATE carries an NTLM MIC, but the SPNEGO mechListMIC is missing.
        Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(TestSpnegoClient.RespToken(auth, null), out var round2));
        var (negState2, _, token2, serverMic) = TestSpnegoClient.ParseResp(round2);
        Assert.Equal(1, negState2);
        Assert.Null(token2);
        Assert.True(client.Ntlm.VerifySignature(client.MechTypesDer, serverMic));
        Assert.Null(server.Result);

        Assert.Equal(NtStatus.Success, server.Step(TestSpnegoClient.RespToken(null, client.Ntlm.MakeSignature(client.MechTypesDer)), out var round3));
        var (negState3, _, _, mic3) = TestSpnegoClient.ParseResp(round3);
        Assert.Equal(0, negState3);
        Assert.Null(mic3);
        Assert.Equal(NtStatus.Success, server.Result!.Status);
    }

    [Fact]
    public void RoundTrip_BadClientMic_LogonFailure()
    {
        var client = new TestSpnegoClient(Alice());
        var server = NewServer();
        server.Step(client.InitToken(client.Ntlm.Negotiate()), out var round1);
        var auth = client.Ntlm.Authenticate(TestSpnegoClient.ParseResp(round1).ResponseToken!);
        var mic = client.Ntlm.MakeSignature("different mech list"u8);

        Assert.Equal(NtStatus.LogonFailure, server.Step(TestSpnegoClient.RespToken(auth, mic), out var round2));
        Assert.Equal(2, TestSpnegoClient.ParseResp(round2).NegState);
        Assert.Equal(NtStatus.LogonFailure, server.Result!.Status);
        Assert.Null(server.Result.SessionKey);
    }

    [Fact]
    public void RoundTrip_WrongPassword_LogonFailureWithRejectToken()
    {
        var client = new TestSpnegoClient(Alice("wrong"));
        var server = NewServer();
        server.Step(client.InitToken(client.Ntlm.Negotiate()), out var round1);
        var auth = client.Ntlm.Authenticate(TestSpnegoClient.ParseResp(round1).ResponseToken!);

        Assert.Equal(NtStatus.LogonFailure, server.Step(TestSpnegoClient.RespToken(auth, client.Ntlm.MakeSignature(client.MechTypesDer)), out var round2));
        Assert.Equal(2, TestSpnegoClient.ParseResp(round2).NegState);
        Assert.Equal(NtStatus.LogonFailure, server.Result!.Status);
        Assert.Equal("alice", server.Result.UserName);

        // The context is finished.
        Assert.Equal(NtStatus.InvalidParameter, server.Step(TestSpnegoClient.RespToken(auth, null), out _));
    }

    [Fact]
    public void RoundTrip_UnknownUserAsGuest_SucceedsWithoutMic()
    {
        var client = new TestSpnegoClient(new TestNtlmClient("visitor", "", "x"));
        var server = NewServer(allowGuest: true);
        server.Step(client.InitToken(client.Ntlm.Negotiate()), out var round1);
        var auth = client.Ntlm.Authenticate(TestSpnegoClient.ParseResp(round1).ResponseToken!);

        // The client's MIC cannot be checked without a session key; it is ignored, as Samba does.
        Assert.Equal(NtStatus.Success, server.Step(TestSpnegoClient.RespToken(auth, client.Ntlm.MakeSignature(client.MechTypesDer)), out var round2));
        var (negState, _, _, mic) = TestSpnegoClient.ParseResp(round2);
        Assert.Equal(0, negState);
        Assert.Null(mic);
        Assert.True(server.Result!.IsGuest);
        Assert.Null(server.Result.SessionKey);
    }

    [Fact]
    public void RoundTrip_Anonymous_SucceedsWhenAllowed()
    {
        var client = new TestSpnegoClient(new TestNtlmClient("", "", "") { Anonymous = true });
        var server = NewServer(allowAnonymous: true);
        server.Step(client.InitToken(client.Ntlm.Negotiate()), out var round1);
        var auth = client.Ntlm.Authenticate(TestSpnegoClient.ParseResp(round1).ResponseToken!);
        Assert.Equal(NtStatus.Success, server.Step(TestSpnegoClient.RespToken(auth, null), out var round2));
        Assert.Null(TestSpnegoClient.ParseResp(round2).MechListMic);
        Assert.True(server.Result!.IsAnonymous);
    }

    [Fact]
    public void RoundTrip_NoSigningNegotiated_NoMicExchanged()
    {
        var ntlm = new TestNtlmClient("alice", "CORP", "Secr3t!")
        {
            Flags = NtlmNegotiateFlags.Unicode | NtlmNegotiateFlags.Ntlm | NtlmNegotiateFlags.ExtendedSessionSecurity | NtlmNegotiateFlags.Negotiate128,
        };
        var client = new TestSpnegoClient(ntlm);
        var server = NewServer();
        server.Step(client.InitToken(ntlm.Negotiate()), out var round1);
        var auth = ntlm.Authenticate(TestSpnegoClient.ParseResp(round1).ResponseToken!);
        Assert.Equal(NtStatus.Success, server.Step(TestSpnegoClient.RespToken(auth, null), out var round2));
        Assert.Null(TestSpnegoClient.ParseResp(round2).MechListMic);
        Assert.NotNull(server.Result!.SessionKey);
    }

    [Fact]
    public void RawNtlmssp_WithoutSpnego_Succeeds()
    {
        var client = Alice();
        var server = NewServer();
        Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(client.Negotiate(), out var challenge));
        Assert.True(server.IsRawNtlm);
        Assert.Equal("NTLMSSP\0", Encoding.ASCII.GetString(challenge, 0, 8));
        Assert.Equal(NtStatus.Success, server.Step(client.Authenticate(challenge), out var final));
        Assert.Empty(final);
        Assert.Equal(client.ExportedSessionKey, server.Result!.SessionKey);
    }

    [Fact]
    public void RawNtlmssp_WrongPassword_LogonFailureEmptyOutput()
    {
        var client = Alice("bad");
        var server = NewServer();
        server.Step(client.Negotiate(), out var challenge);
        Assert.Equal(NtStatus.LogonFailure, server.Step(client.Authenticate(challenge), out var final));
        Assert.Empty(final);
        Assert.Equal(NtStatus.LogonFailure, server.Result!.Status);
    }

    [Fact]
    public void Step_NoNtlmInMechTypes_Fails()
    {
        var client = new TestSpnegoClient(Alice(), Spnego.KerberosOid);
        var server = NewServer();
        Assert.Equal(NtStatus.InvalidParameter, server.Step(client.InitToken([1, 2, 3]), out var output));
        Assert.Equal(2, TestSpnegoClient.ParseResp(output).NegState);
    }

    [Fact]
    public void Step_NegTokenRespFirst_Fails()
    {
        Assert.Equal(NtStatus.InvalidParameter, NewServer().Step(TestSpnegoClient.RespToken([1], null), out _));
    }

    [Fact]
    public void Step_EmptyOrGarbage_Fails()
    {
        Assert.Equal(NtStatus.InvalidParameter, NewServer().Step([], out _));
        Assert.Equal(NtStatus.InvalidParameter, NewServer().Step("hello world"u8, out _));
        Assert.Equal(NtStatus.InvalidParameter, NewServer().Step(new byte[Spnego.MaxTokenSize + 1], out _));
    }

    [Fact]
    public void Step_ClientRejects_LogonFailure()
    {
        var client = new TestSpnegoClient(Alice());
        var server = NewServer();
        server.Step(client.InitToken(client.Ntlm.Negotiate()), out _);
        Assert.Equal(NtStatus.LogonFailure, server.Step(TestSpnegoClient.RespToken(null, null, negState: 2), out _));
    }

    [Fact]
    public void Truncation_InitToken_NeverThrowsNeverProgressesWrongly()
    {
        var client = new TestSpnegoClient(Alice(), Spnego.MsKerberosOid, Spnego.NtlmSspOid);
        var init = client.InitToken([0x60, 0x01, 0x00]);
        var windows = Convert.FromHexString(WindowsNegTokenInit);
        foreach (var token in new[] { init, windows })
        {
            for (int n = 0; n < token.Length; n++)
            {
                var status = NewServer().Step(token.AsSpan(0, n), out _);
                Assert.NotEqual(NtStatus.Success, status);
                // A DER prefix is never a complete token, except where it ends exactly on a raw NTLMSSP header.
                Assert.Equal(NtStatus.InvalidParameter, status);
            }
        }
    }

    [Fact]
    public void Truncation_FinalToken_NeverThrowsNeverSucceeds()
    {
        // Deterministic server (fixed challenge and clock): each fresh context replays round 1 identically.
        var client = new TestSpnegoClient(Alice());
        var init = client.InitToken(client.Ntlm.Negotiate());
        NewServer().Step(init, out var round1);
        var auth = client.Ntlm.Authenticate(TestSpnegoClient.ParseResp(round1).ResponseToken!);
        var final = TestSpnegoClient.RespToken(auth, client.Ntlm.MakeSignature(client.MechTypesDer));

        for (int n = 0; n < final.Length; n++)
        {
            var server = NewServer();
            Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(init, out _));
            var status = server.Step(final.AsSpan(0, n), out _);
            Assert.NotEqual(NtStatus.Success, status);
            Assert.NotEqual(NtStatus.MoreProcessingRequired, status);
        }

        var whole = NewServer();
        whole.Step(init, out _);
        Assert.Equal(NtStatus.Success, whole.Step(final, out _));
    }

    [Fact]
    public void Mutation_Tokens_NeverThrow()
    {
        var client = new TestSpnegoClient(Alice(), Spnego.KerberosOid, Spnego.NtlmSspOid);
        var init = client.InitToken([1, 2, 3, 4]);
        var server0 = NewServer();
        server0.Step(init, out _);
        server0.Step(TestSpnegoClient.RespToken(client.Ntlm.Negotiate(), null), out var round2);
        var auth = client.Ntlm.Authenticate(TestSpnegoClient.ParseResp(round2).ResponseToken!);
        var final = TestSpnegoClient.RespToken(auth, client.Ntlm.MakeSignature(client.MechTypesDer));
        var random = new Random(42);

        for (int i = 0; i < 2000; i++)
        {
            var mutatedInit = Mutate(init, random);
            NewServer().Step(mutatedInit, out _);
            NewServer().Step(Mutate(Convert.FromHexString(WindowsNegTokenRespWithMic), random), out _);

            var server = NewServer();
            server.Step(init, out _);
            server.Step(TestSpnegoClient.RespToken(client.Ntlm.Negotiate(), null), out _);
            var status = server.Step(Mutate(final, random), out _);
            if (status == NtStatus.Success)
            {
                // Only mutations in bytes nobody checks may pass, and then the real key comes out.
                Assert.Equal(client.Ntlm.ExportedSessionKey, server.Result!.SessionKey);
            }
        }
    }

    private static byte[] Mutate(byte[] input, Random random)
    {
        var copy = (byte[])input.Clone();
        int flips = random.Next(1, 4);
        for (int k = 0; k < flips; k++)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return random.Next(4) == 0 ? copy[..random.Next(copy.Length)] : copy;
    }
}
