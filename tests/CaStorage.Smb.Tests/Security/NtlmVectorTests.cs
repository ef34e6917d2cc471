using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

/// <summary>Published NTLMv2 vectors: MS-NLMP 4.2.1 inputs and 4.2.4 results.</summary>
public sealed class NtlmVectorTests
{
    private static readonly byte[] ServerChallenge = Convert.FromHexString("0123456789abcdef");
    private static readonly byte[] RandomSessionKey = Convert.FromHexString("55555555555555555555555555555555");

    // MS-NLMP 4.2.4.1.3 "temp": RespType/HiRespType, zero time stamp, ClientChallenge aa..aa,
    // the AV pairs MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL, then Z(4).
    private const string Temp =
        "0101000000000000" + "0000000000000000" + "aaaaaaaaaaaaaaaa" + "00000000" +
        "02000c0044006f006d00610069006e00" + "01000c00530065007200760065007200" + "00000000" + "00000000";

    [Fact]
    public void NtOwfV2_Matches4_2_4_1_1()
    {
        var key = NtlmCrypto.NtOwfV2(NtHash.FromPassword("Password"), "User", "Domain");
        Assert.Equal("0c868a403bfd7a93a3001ef22ef02e3f", Convert.ToHexStringLower(key));
    }

    [Fact]
    public void NtProofStrAndSessionBaseKey_Match4_2_4_2()
    {
        var key = NtlmCrypto.NtOwfV2(NtHash.FromPassword("Password"), "User", "Domain");
        var proof = new byte[16];
        NtlmCrypto.NtProofStr(key, ServerChallenge, Convert.FromHexString(Temp), proof);
        Assert.Equal("68cd0ab851e51c96aabc927bebef6a1c", Convert.ToHexStringLower(proof));

        var sessionBaseKey = System.Security.Cryptography.HMACMD5.HashData(key, proof);
        Assert.Equal("8de40ccadbc14a82f15cb0ad0de95ca3", Convert.ToHexStringLower(sessionBaseKey));

        // 4.2.4.2.3: EncryptedRandomSessionKey = RC4(KeyExchangeKey = SessionBaseKey, RandomSessionKey).
        Assert.Equal("c5dad2544fc9799094ce1ce90bc9d03e", Convert.ToHexStringLower(Rc4.Apply(sessionBaseKey, RandomSessionKey)));
        Assert.Equal(RandomSessionKey, Rc4.Apply(sessionBaseKey, Convert.FromHexString("c5dad2544fc9799094ce1ce90bc9d03e")));
    }

    [Fact]
    public void SealAndSign_Match4_2_4_4_GssWrapEx()
    {
        // Challenge flags 0xe28a8233 (KEY_EXCH, 56, 128, VERSION, TARGET_INFO, ESS, ...), client side, SeqNum 0.
        var flags = (NtlmNegotiateFlags)0xe28a8233;
        var sealKey = NtlmCrypto.SealKey(RandomSessionKey, flags, clientToServer: true);
        var signKey = NtlmCrypto.SignKey(RandomSessionKey, clientToServer: true);
        Assert.Equal("59f600973cc4960a25480a7c196e4c58", Convert.ToHexStringLower(sealKey));
        Assert.Equal("4788dc861b4782f35d43fd98fe1a2d39", Convert.ToHexStringLower(signKey));

        var plaintext = Encoding.Unicode.GetBytes("Plaintext");
        var handle = new Rc4(sealKey);
        var sealedData = new byte[plaintext.Length];
        handle.Transform(plaintext, sealedData);
        Assert.Equal("54e50165bf1936dc996020c1811b0f06fb5f", Convert.ToHexStringLower(sealedData));

        var signature = new byte[16];
        NtlmCrypto.ComputeSignature(signKey, handle, 0, plaintext, signature);
        Assert.Equal("010000007fb38ec5c55d497600000000", Convert.ToHexStringLower(signature));
    }

    // The AUTHENTICATE message that Chromium's NTLM client sends for the MS-NLMP 4.2.4.3 CHALLENGE
    // (net/ntlm/ntlm_test_data.h, kExpectedAuthenticateMsgSpecResponseV2): MsvAvFlags=MIC, a
    // channel-binding hash, target name "HTTP/Server", a client time stamp, no KEY_EXCH. Its MIC
    // covers kExpectedNegotiateMsg || CHALLENGE || AUTHENTICATE.
    internal const string ChromiumNegotiateHex =
        "4e544c4d53535000010000000782080000000000200000000000000020000000";
    internal const string SpecChallengeHex =
        "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef00000000000000002400240044000000" +
        "060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c005300650072007600" +
        "6500720000000000";
    internal const string ChromiumAuthenticateHex =
        "4e544c4d535350000300000018001800580000008a008a00700000000c000c00fa000000080008000601000010001000" +
        "0e0100000000000058000000038208000000000000000000f7361633f0ad9bdf4a7c421bc6b824a30000000000000000" +
        "000000000000000000000000000000008c0260dbef690662af9c42d50782d2ed0101000000000000800bc8fd00d4d201" +
        "aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c0053006500720076006500720006000400" +
        "020000000a0010006586e99d81c2fc984e47172fd4dd03100900160048005400540050002f0053006500720076006500" +
        "7200000000000000000044006f006d00610069006e00550073006500720043004f004d0050005500540045005200";

    internal static byte[] ChromiumNegotiateBytes() => Convert.FromHexString(ChromiumNegotiateHex);

    internal static byte[] SpecChallengeBytes() => Convert.FromHexString(SpecChallengeHex);

    internal static byte[] ChromiumAuthenticateBytes() => Convert.FromHexString(ChromiumAuthenticateHex);

    [Fact]
    public void ChromiumAuthenticate_WithMic_VerifiesAndYieldsSessionBaseKey()
    {
        var users = new TestUserStore().Add("User", "Password");
        var server = new NtlmServerContext(users, new NtlmServerOptions());
        server.SetChallengeStateForTest(ChromiumNegotiateBytes(), SpecChallengeBytes());

        var result = server.ProcessAuthenticate(ChromiumAuthenticateBytes());

        Assert.Equal(NtStatus.Success, result.Status);
        Assert.Equal("User", result.UserName);
        Assert.Equal("Domain", result.DomainName);
        Assert.Equal("COMPUTER", result.Workstation);
        Assert.False(result.IsGuest);
        Assert.True(server.AuthenticateHadMic);
        // No KEY_EXCH: ExportedSessionKey = SessionBaseKey (Chromium kExpectedSessionBaseKeyWithClientTimestampV2).
        Assert.Equal("623dbd071be7a530b6a95c2eb4982470", Convert.ToHexStringLower(result.SessionKey!));
        // Flags 0x00088203 do not include SIGN: no mechListMIC possible.
        Assert.False(server.SupportsIntegrity);
    }

    [Theory]
    [InlineData(60)]  // NegotiateFlags: only the MIC covers them
    [InlineData(72)]  // MIC
    [InlineData(100)] // LM response: only the MIC covers it
    [InlineData(200)] // channel-binding AV pair: covered by NTProofStr
    [InlineData(255)] // domain name: changes NTOWFv2
    [InlineData(272)] // workstation name: only the MIC covers it
    public void ChromiumAuthenticate_TamperedByte_Fails(int offset)
    {
        var users = new TestUserStore().Add("User", "Password");
        var server = new NtlmServerContext(users, new NtlmServerOptions());
        server.SetChallengeStateForTest(ChromiumNegotiateBytes(), SpecChallengeBytes());
        var auth = ChromiumAuthenticateBytes();
        auth[offset] ^= 0x01;

        var result = server.ProcessAuthenticate(auth);

        Assert.NotEqual(NtStatus.Success, result.Status);
        Assert.Null(result.SessionKey);
    }

    [Fact]
    public void ChromiumAuthenticate_WrongPassword_Fails()
    {
        var users = new TestUserStore().Add("User", "password");
        var server = new NtlmServerContext(users, new NtlmServerOptions());
        server.SetChallengeStateForTest(ChromiumNegotiateBytes(), SpecChallengeBytes());
        Assert.Equal(NtStatus.LogonFailure, server.ProcessAuthenticate(ChromiumAuthenticateBytes()).Status);
    }
}
