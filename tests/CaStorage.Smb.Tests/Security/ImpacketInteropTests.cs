using System.Diagnostics;
using CaStorage.Core;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

/// <summary>
/// Cross-checks the NTLM server against an independent client: impacket's ntlm module
/// (python3-impacket), which parses our CHALLENGE and builds NTLMv2 AUTHENTICATE messages with
/// KEY_EXCH, and computes NTLMSSP signatures in both directions. Needs /usr/bin/python3 with
/// impacket and pycryptodomex; a missing dependency fails the test (STYLE I.3).
/// </summary>
public sealed class ImpacketInteropTests
{
    private const string Python = "/usr/bin/python3";
    private static readonly byte[] MicInput = "CaStorage mechListMIC check"u8.ToArray();

    private const string Script = """
        import sys
        from impacket import ntlm
        from impacket.spnego import SPNEGO_NegTokenInit, SPNEGO_NegTokenResp, TypesMech
        from Cryptodome.Cipher import ARC4
        t1 = ntlm.getNTLMSSPType1('IMPACKETWS', '', signingRequired=True)
        if sys.argv[1] == 'negotiate':
            print(t1.getData().hex())
            sys.exit(0)
        if sys.argv[1] == 'spnego-init':
            init = SPNEGO_NegTokenInit()
            init['MechTypes'] = [TypesMech['NTLMSSP - Microsoft NTLM Security Support Provider']]
            init['MechToken'] = t1.getData()
            print(init.getData().hex())
            sys.exit(0)
        if sys.argv[1] == 'spnego-auth':
            resp = SPNEGO_NegTokenResp(bytes.fromhex(sys.argv[2]))
            challenge = resp['ResponseToken']
            print(resp['NegState'].hex(), resp['SupportedMech'].hex())
        else:
            challenge = bytes.fromhex(sys.argv[2])
        user, password, domain = sys.argv[3], sys.argv[4], sys.argv[5]
        t3, key = ntlm.getNTLMSSPType3(t1, challenge, user, password, domain)
        if sys.argv[1] == 'spnego-auth':
            wrapped = SPNEGO_NegTokenResp()
            wrapped['ResponseToken'] = t3.getData()
            print(wrapped.getData().hex())
        else:
            print(t3.getData().hex())
        print(key.hex())
        flags = t3['flags']
        message = b'CaStorage mechListMIC check'
        for mode in ('Client', 'Server'):
            sign_key = ntlm.SIGNKEY(flags, key, mode)
            handle = ARC4.new(ntlm.SEALKEY(flags, key, mode)).encrypt
            print(ntlm.SIGN(flags, sign_key, message, 0, handle).getData().hex())
        """;

    private static string[] RunImpacket(params string[] args)
    {
        Assert.True(File.Exists(Python), $"{Python} is required for the impacket interop test (apt-get install python3-impacket).");
        var scriptPath = Path.Combine(Path.GetTempPath(), $"castorage-impacket-{Environment.ProcessId}.py");
        File.WriteAllText(scriptPath, Script);
        try
        {
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(scriptPath);
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(60_000), "impacket helper timed out");
            Assert.True(process.ExitCode == 0, $"impacket helper failed (is python3-impacket installed?): {stderr.Result}");
            return stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        finally
        {
            File.Delete(scriptPath);
        }
    }

    private static NtlmServerOptions Options(bool allowAnonymous = false) => new()
    {
        NetBiosComputerName = "FILESRV",
        NetBiosDomainName = "CORP",
        DnsComputerName = "filesrv.corp.example",
        AllowAnonymous = allowAnonymous,
    };

    [Fact]
    public void ImpacketClient_CorrectPassword_AuthenticatesAndSignaturesInteroperate()
    {
        var users = new TestUserStore().Add("alice", "Secr3t!");
        var server = new NtlmServerContext(users, Options());
        var negotiate = Convert.FromHexString(RunImpacket("negotiate")[0]);
        Assert.Equal(NtStatus.MoreProcessingRequired, server.ProcessNegotiate(negotiate, out var challenge));

        var lines = RunImpacket("authenticate", Convert.ToHexString(challenge), "alice", "Secr3t!", "CORP");
        var result = server.ProcessAuthenticate(Convert.FromHexString(lines[0]));

        Assert.Equal(NtStatus.Success, result.Status);
        Assert.Equal("alice", result.UserName);
        Assert.Equal("CORP", result.DomainName);
        Assert.Equal("IMPACKETWS", result.Workstation);
        Assert.Equal(lines[1], Convert.ToHexStringLower(result.SessionKey!));
        Assert.True(server.SupportsIntegrity);
        Assert.True(server.VerifySignature(MicInput, Convert.FromHexString(lines[2])));
        Assert.Equal(lines[3], Convert.ToHexStringLower(server.MakeSignature(MicInput)));
    }

    [Fact]
    public void ImpacketSpnegoClient_ParsesOurTokensAndAuthenticates()
    {
        var users = new TestUserStore().Add("alice", "Secr3t!");
        var server = new SpnegoServerContext(() => new NtlmServerContext(users, Options()));

        var init = Convert.FromHexString(RunImpacket("spnego-init")[0]);
        Assert.Equal(NtStatus.MoreProcessingRequired, server.Step(init, out var round1));

        var lines = RunImpacket("spnego-auth", Convert.ToHexString(round1), "alice", "Secr3t!", "CORP");
        // impacket decoded negState accept-incomplete (01) and the NTLMSSP OID (DER content bytes).
        Assert.Equal("01 2b06010401823702020a", lines[0]);
        Assert.Equal(NtStatus.Success, server.Step(Convert.FromHexString(lines[1]), out var round2));

        Assert.Equal(lines[2], Convert.ToHexStringLower(server.Result!.SessionKey!));
        Assert.Equal("alice", server.Result.UserName);
        // impacket sends no mechListMIC and no NTLM MIC: the server completes without a MIC exchange.
        var (negState, _, _, mic) = TestSpnegoClient.ParseResp(round2);
        Assert.Equal(0, negState);
        Assert.Null(mic);
    }

    [Fact]
    public void ImpacketClient_WrongPassword_LogonFailure()
    {
        var users = new TestUserStore().Add("alice", "Secr3t!");
        var server = new NtlmServerContext(users, Options());
        server.ProcessNegotiate(Convert.FromHexString(RunImpacket("negotiate")[0]), out var challenge);
        var lines = RunImpacket("authenticate", Convert.ToHexString(challenge), "alice", "nope", "CORP");
        Assert.Equal(NtStatus.LogonFailure, server.ProcessAuthenticate(Convert.FromHexString(lines[0])).Status);
    }

    [Fact]
    public void ImpacketClient_Anonymous_IsAnonymousWhenAllowed()
    {
        var server = new NtlmServerContext(new TestUserStore(), Options(allowAnonymous: true));
        server.ProcessNegotiate(Convert.FromHexString(RunImpacket("negotiate")[0]), out var challenge);
        var lines = RunImpacket("authenticate", Convert.ToHexString(challenge), "", "", "");
        var result = server.ProcessAuthenticate(Convert.FromHexString(lines[0]));
        Assert.Equal(NtStatus.Success, result.Status);
        Assert.True(result.IsAnonymous);
        Assert.Null(result.SessionKey);
    }
}
