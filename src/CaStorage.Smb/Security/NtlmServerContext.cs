using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using CaStorage.Core;

namespace CaStorage.Smb.Security;

/// <summary>Looks up account secrets for NTLM.</summary>
internal interface INtlmUserStore
{
    /// <summary>The NT hash (MD4 of the UTF-16LE password) of <paramref name="userName"/>, matched case-insensitively; null for an unknown user.</summary>
    byte[]? GetNtHash(string userName);
}

/// <summary>Outcome of an NTLM authentication. <see cref="SessionKey"/> is the ExportedSessionKey, null for guest/anonymous or failure.</summary>
internal sealed record NtlmAuthResult(
    NtStatus Status,
    string UserName,
    string DomainName,
    string Workstation,
    bool IsGuest,
    bool IsAnonymous,
    byte[]? SessionKey);

internal sealed class NtlmServerOptions
{
    public string NetBiosComputerName { get; init; } = "CASTORAGE";
    public string NetBiosDomainName { get; init; } = "WORKGROUP";
    /// <summary>Sent as MsvAvDnsComputerName when not empty.</summary>
    public string DnsComputerName { get; init; } = "";
    /// <summary>Sent as MsvAvDnsDomainName when not empty.</summary>
    public string DnsDomainName { get; init; } = "";
    /// <summary>Map users the store does not know to a guest logon (Samba "map to guest = bad user"). Wrong passwords still fail.</summary>
    public bool AllowGuest { get; init; }
    /// <summary>Accept anonymous (null session) logons.</summary>
    public bool AllowAnonymous { get; init; }
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
    /// <summary>Test seam: produces the 8-byte ServerChallenge. Defaults to a CSPRNG.</summary>
    internal Func<byte[]>? ServerChallengeFactory { get; init; }
}

/// <summary>
/// Server side of NTLMSSP with NTLMv2 only (MS-NLMP 3.2.5). One instance per authentication:
/// NEGOTIATE → CHALLENGE → AUTHENTICATE. NTLMv1 and LM responses are refused. After a
/// successful logon with a session key, <see cref="MakeSignature"/>/<see cref="VerifySignature"/>
/// implement GSS_GetMIC/VerifyMIC (MS-NLMP 3.4.4.2) for the SPNEGO mechListMIC.
/// Not thread-safe.
/// </summary>
internal sealed class NtlmServerContext
{
    private const int ServerChallengeLength = 8;
    private const int ChallengeFixedLength = 56;

    private readonly INtlmUserStore _users;
    private readonly NtlmServerOptions _options;

    private State _state = State.Initial;
    private byte[]? _negotiateMessage;
    private byte[]? _challengeMessage;
    private readonly byte[] _serverChallenge = new byte[ServerChallengeLength];
    private NtlmNegotiateFlags _challengeFlags;

    private byte[]? _clientSignKey;
    private byte[]? _serverSignKey;
    private Rc4? _clientSealHandle;
    private Rc4? _serverSealHandle;
    private uint _clientSequence;
    private uint _serverSequence;

    public NtlmServerContext(INtlmUserStore users, NtlmServerOptions options)
    {
        _users = users ?? throw new ArgumentNullException(nameof(users));
        _options = options ?? throw new ArgumentNullException(nameof(options));
    }

    private enum State
    {
        Initial,
        ChallengeSent,
        Done,
    }

    /// <summary>Flags in force after AUTHENTICATE (those both sides agreed on).</summary>
    public NtlmNegotiateFlags NegotiatedFlags { get; private set; }

    /// <summary>The AUTHENTICATE message carried a verified MIC (MsvAvFlags 0x2): SPNEGO must then exchange mechListMICs.</summary>
    public bool AuthenticateHadMic { get; private set; }

    /// <summary>Message integrity is available: a session key exists and signing with extended session security was negotiated.</summary>
    public bool SupportsIntegrity => _serverSignKey is not null;

    public NtlmAuthResult? Result { get; private set; }

    /// <summary>Consumes the client's NEGOTIATE_MESSAGE and produces the CHALLENGE_MESSAGE.</summary>
    public NtStatus ProcessNegotiate(ReadOnlySpan<byte> negotiateMessage, out byte[] challengeMessage)
    {
        challengeMessage = [];
        if (_state != State.Initial)
        {
            return NtStatus.InvalidParameter;
        }

        if (!NtlmNegotiateMessage.TryParse(negotiateMessage, out var negotiate))
        {
            _state = State.Done;
            return NtStatus.InvalidParameter;
        }

        var challenge = _options.ServerChallengeFactory?.Invoke();
        if (challenge is { Length: ServerChallengeLength })
        {
            challenge.CopyTo(_serverChallenge, 0);
        }
        else
        {
            RandomNumberGenerator.Fill(_serverChallenge);
        }

        _challengeFlags = ChooseChallengeFlags(negotiate.Flags);
        _negotiateMessage = negotiateMessage.ToArray();
        _challengeMessage = BuildChallenge(_challengeFlags);
        _state = State.ChallengeSent;
        challengeMessage = _challengeMessage;
        return NtStatus.MoreProcessingRequired;
    }

    /// <summary>Verifies the client's AUTHENTICATE_MESSAGE. Never throws on malformed input.</summary>
    public NtlmAuthResult ProcessAuthenticate(ReadOnlySpan<byte> authenticateMessage)
    {
        if (_state != State.ChallengeSent)
        {
            return Finish(Failure(NtStatus.InvalidParameter));
        }

        _state = State.Done;
        if (!NtlmAuthenticateMessage.TryParse(authenticateMessage, out var auth))
        {
            return Finish(Failure(NtStatus.InvalidParameter));
        }

        NegotiatedFlags = auth.Flags & _challengeFlags;
        var lm = auth.LmChallengeResponse;
        var nt = auth.NtChallengeResponse;

        // MS-NLMP 3.2.5.1.2: empty user name, empty NtChallengeResponse and an empty or Z(1)
        // LmChallengeResponse is an anonymous logon.
        if (auth.UserName.Length == 0 && nt.IsEmpty && (lm.IsEmpty || (lm.Length == 1 && lm[0] == 0)))
        {
            return Finish(_options.AllowAnonymous
                ? new NtlmAuthResult(NtStatus.Success, "", auth.DomainName, auth.Workstation, IsGuest: false, IsAnonymous: true, SessionKey: null)
                : Failure(NtStatus.LogonFailure, in auth));
        }

        // Only NTLMv2 is accepted: a 24-byte NT response is NTLMv1 (or NTLM2 session response).
        if (!NtlmV2Response.TryParse(nt, out var v2))
        {
            return Finish(Failure(nt.Length == 24 || nt.IsEmpty ? NtStatus.LogonFailure : NtStatus.InvalidParameter, in auth));
        }

        if (!NtlmWire.TryFindAvPair(v2.AvPairs, NtlmAvId.Flags, out var avFlags, out bool haveAvFlags))
        {
            return Finish(Failure(NtStatus.InvalidParameter, in auth));
        }

        bool micPresent = haveAvFlags && avFlags.Length >= 4
            && (BinaryPrimitives.ReadUInt32LittleEndian(avFlags) & NtlmWire.AvFlagMicPresent) != 0;
        if (micPresent && (authenticateMessage.Length < NtlmAuthenticateMessage.LengthWithMic
            || auth.MinimumPayloadOffset < NtlmAuthenticateMessage.LengthWithMic))
        {
            // The MIC field must not overlap the payload.
            return Finish(Failure(NtStatus.InvalidParameter, in auth));
        }

        var ntHash = _users.GetNtHash(auth.UserName);
        if (ntHash is null)
        {
            return Finish(_options.AllowGuest
                ? new NtlmAuthResult(NtStatus.Success, auth.UserName, auth.DomainName, auth.Workstation, IsGuest: true, IsAnonymous: false, SessionKey: null)
                : Failure(NtStatus.LogonFailure, in auth));
        }

        Span<byte> proof = stackalloc byte[16];
        byte[]? responseKeyNt = null;
        foreach (var domain in CandidateDomains(auth.DomainName))
        {
            var key = NtlmCrypto.NtOwfV2(ntHash, auth.UserName, domain);
            NtlmCrypto.NtProofStr(key, _serverChallenge, v2.ClientBlob, proof);
            if (CryptographicOperations.FixedTimeEquals(proof, v2.NtProofStr))
            {
                responseKeyNt = key;
                break;
            }
        }

        if (responseKeyNt is null)
        {
            return Finish(Failure(NtStatus.LogonFailure, in auth));
        }

        // MS-NLMP 3.3.2: SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr); for NTLMv2 KXKEY returns it unchanged.
        var keyExchangeKey = HMACMD5.HashData(responseKeyNt, v2.NtProofStr);
        byte[] exportedSessionKey;
        if ((NegotiatedFlags & NtlmNegotiateFlags.KeyExchange) != 0)
        {
            if (auth.EncryptedRandomSessionKey.Length != NtlmCrypto.KeyLength)
            {
                return Finish(Failure(NtStatus.InvalidParameter, in auth));
            }

            exportedSessionKey = Rc4.Apply(keyExchangeKey, auth.EncryptedRandomSessionKey);
        }
        else
        {
            exportedSessionKey = keyExchangeKey;
        }

        if (micPresent && !VerifyMic(exportedSessionKey, authenticateMessage))
        {
            return Finish(Failure(NtStatus.LogonFailure, in auth));
        }

        AuthenticateHadMic = micPresent;
        InitializeIntegrity(exportedSessionKey);
        return Finish(new NtlmAuthResult(NtStatus.Success, auth.UserName, auth.DomainName, auth.Workstation, IsGuest: false, IsAnonymous: false, exportedSessionKey));
    }

    /// <summary>GSS_GetMIC for a server-to-client message (MS-NLMP 3.4.4.2). Requires <see cref="SupportsIntegrity"/>.</summary>
    public byte[] MakeSignature(ReadOnlySpan<byte> data)
    {
        if (_serverSignKey is null)
        {
            throw new InvalidOperationException("NTLM message integrity is not available on this context.");
        }

        var signature = new byte[NtlmCrypto.SignatureLength];
        NtlmCrypto.ComputeSignature(_serverSignKey, _serverSealHandle, _serverSequence++, data, signature);
        return signature;
    }

    /// <summary>GSS_VerifyMIC for a client-to-server message; false when integrity is unavailable or the signature is wrong.</summary>
    public bool VerifySignature(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (_clientSignKey is null || signature.Length != NtlmCrypto.SignatureLength)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[NtlmCrypto.SignatureLength];
        NtlmCrypto.ComputeSignature(_clientSignKey, _clientSealHandle, _clientSequence++, data, expected);
        return CryptographicOperations.FixedTimeEquals(expected, signature);
    }

    /// <summary>
    /// Test seam: puts the context in the state reached after sending <paramref name="challengeMessage"/>
    /// in answer to <paramref name="negotiateMessage"/>, so externally produced message triples can be verified.
    /// </summary>
    internal void SetChallengeStateForTest(byte[] negotiateMessage, byte[] challengeMessage)
    {
        _negotiateMessage = negotiateMessage;
        _challengeMessage = challengeMessage;
        _challengeFlags = (NtlmNegotiateFlags)BinaryPrimitives.ReadUInt32LittleEndian(challengeMessage.AsSpan(20));
        challengeMessage.AsSpan(24, ServerChallengeLength).CopyTo(_serverChallenge);
        _state = State.ChallengeSent;
    }

    private NtlmAuthResult Finish(NtlmAuthResult result)
    {
        Result = result;
        return result;
    }

    private static NtlmAuthResult Failure(NtStatus status) => new(status, "", "", "", false, false, null);

    private static NtlmAuthResult Failure(NtStatus status, in NtlmAuthenticateMessage auth) =>
        new(status, auth.UserName, auth.DomainName, auth.Workstation, false, false, null);

    /// <summary>
    /// MS-NLMP 3.3.2 uses the domain as the client sent it. Like Samba, also accept the upper-cased
    /// and the empty domain, which some clients use when computing NTOWFv2.
    /// </summary>
    private static IEnumerable<string> CandidateDomains(string domain)
    {
        yield return domain;
        var upper = domain.ToUpperInvariant();
        if (!string.Equals(upper, domain, StringComparison.Ordinal))
        {
            yield return upper;
        }

        if (domain.Length != 0)
        {
            yield return "";
        }
    }

    private bool VerifyMic(byte[] exportedSessionKey, ReadOnlySpan<byte> authenticateMessage)
    {
        // MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE with MIC zeroed) (MS-NLMP 3.1.5.1.2).
        Span<byte> fixedPart = stackalloc byte[NtlmAuthenticateMessage.LengthWithMic];
        authenticateMessage[..NtlmAuthenticateMessage.LengthWithMic].CopyTo(fixedPart);
        fixedPart.Slice(NtlmAuthenticateMessage.MicOffset, NtlmAuthenticateMessage.MicLength).Clear();

        Span<byte> mic = stackalloc byte[16];
        using (var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.MD5, exportedSessionKey))
        {
            hmac.AppendData(_negotiateMessage!);
            hmac.AppendData(_challengeMessage!);
            hmac.AppendData(fixedPart);
            hmac.AppendData(authenticateMessage[NtlmAuthenticateMessage.LengthWithMic..]);
            hmac.GetHashAndReset(mic);
        }

        return CryptographicOperations.FixedTimeEquals(mic, authenticateMessage.Slice(NtlmAuthenticateMessage.MicOffset, NtlmAuthenticateMessage.MicLength));
    }

    private void InitializeIntegrity(byte[] exportedSessionKey)
    {
        // Signing keys exist only with extended session security (MS-NLMP 3.4.5.2); NTLMv1-style
        // CRC32 signatures are not implemented, so without ESS integrity is simply unavailable.
        var flags = NegotiatedFlags;
        if ((flags & NtlmNegotiateFlags.ExtendedSessionSecurity) == 0
            || (flags & (NtlmNegotiateFlags.Sign | NtlmNegotiateFlags.Seal)) == 0)
        {
            return;
        }

        _clientSignKey = NtlmCrypto.SignKey(exportedSessionKey, clientToServer: true);
        _serverSignKey = NtlmCrypto.SignKey(exportedSessionKey, clientToServer: false);
        if ((flags & NtlmNegotiateFlags.KeyExchange) != 0)
        {
            _clientSealHandle = new Rc4(NtlmCrypto.SealKey(exportedSessionKey, flags, clientToServer: true));
            _serverSealHandle = new Rc4(NtlmCrypto.SealKey(exportedSessionKey, flags, clientToServer: false));
        }
    }

    /// <summary>The CHALLENGE flags: what we always do, plus the client's requests we can honour (MS-NLMP 3.2.5.1.1).</summary>
    private static NtlmNegotiateFlags ChooseChallengeFlags(NtlmNegotiateFlags client)
    {
        var flags = NtlmNegotiateFlags.Ntlm | NtlmNegotiateFlags.TargetInfo | NtlmNegotiateFlags.TargetTypeServer;
        flags |= (client & NtlmNegotiateFlags.Unicode) != 0 ? NtlmNegotiateFlags.Unicode : NtlmNegotiateFlags.Oem;
        flags |= client & (NtlmNegotiateFlags.RequestTarget
                           | NtlmNegotiateFlags.Sign
                           | NtlmNegotiateFlags.Seal
                           | NtlmNegotiateFlags.AlwaysSign
                           | NtlmNegotiateFlags.ExtendedSessionSecurity
                           | NtlmNegotiateFlags.Version
                           | NtlmNegotiateFlags.Negotiate128
                           | NtlmNegotiateFlags.KeyExchange
                           | NtlmNegotiateFlags.Negotiate56);
        return flags;
    }

    /// <summary>
    /// CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2):
    /// <code>
    ///  0 Signature (8) | 8 MessageType = 2 (4) | 12 TargetNameFields (8) | 20 NegotiateFlags (4)
    /// 24 ServerChallenge (8) | 32 Reserved (8) | 40 TargetInfoFields (8) | 48 Version (8) | 56 payload
    /// </code>
    /// </summary>
    private byte[] BuildChallenge(NtlmNegotiateFlags flags)
    {
        bool unicode = (flags & NtlmNegotiateFlags.Unicode) != 0;
        var targetName = unicode
            ? Encoding.Unicode.GetBytes(_options.NetBiosComputerName)
            : Encoding.ASCII.GetBytes(_options.NetBiosComputerName);
        var targetInfo = BuildTargetInfo();

        var message = new byte[ChallengeFixedLength + targetName.Length + targetInfo.Length];
        var span = message.AsSpan();
        NtlmWire.Signature.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], NtlmWire.ChallengeType);
        WriteField(span[12..], targetName.Length, ChallengeFixedLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], (uint)flags);
        _serverChallenge.CopyTo(span[24..]);
        WriteField(span[40..], targetInfo.Length, ChallengeFixedLength + targetName.Length);
        if ((flags & NtlmNegotiateFlags.Version) != 0)
        {
            // Windows 10 / Server 2022 style version: 10.0 build 20348, NTLMSSP_REVISION_W2K3 (0x0F).
            span[48] = 10;
            span[49] = 0;
            BinaryPrimitives.WriteUInt16LittleEndian(span[50..], 20348);
            span[55] = 0x0F;
        }

        targetName.CopyTo(span[ChallengeFixedLength..]);
        targetInfo.CopyTo(span[(ChallengeFixedLength + targetName.Length)..]);
        return message;
    }

    private byte[] BuildTargetInfo()
    {
        var pairs = new List<(NtlmAvId Id, byte[] Value)>
        {
            (NtlmAvId.NbDomainName, Encoding.Unicode.GetBytes(_options.NetBiosDomainName)),
            (NtlmAvId.NbComputerName, Encoding.Unicode.GetBytes(_options.NetBiosComputerName)),
        };
        if (_options.DnsDomainName.Length != 0)
        {
            pairs.Add((NtlmAvId.DnsDomainName, Encoding.Unicode.GetBytes(_options.DnsDomainName)));
        }

        if (_options.DnsComputerName.Length != 0)
        {
            pairs.Add((NtlmAvId.DnsComputerName, Encoding.Unicode.GetBytes(_options.DnsComputerName)));
        }

        var timestamp = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(timestamp, _options.TimeProvider.GetUtcNow().ToFileTime());
        pairs.Add((NtlmAvId.Timestamp, timestamp));

        int length = 4; // MsvAvEOL
        foreach (var (_, value) in pairs)
        {
            length += 4 + value.Length;
        }

        var buffer = new byte[length];
        int pos = 0;
        foreach (var (id, value) in pairs)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(pos), (ushort)id);
            BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(pos + 2), checked((ushort)value.Length));
            value.CopyTo(buffer, pos + 4);
            pos += 4 + value.Length;
        }

        return buffer; // the trailing 4 zero bytes are MsvAvEOL
    }

    private static void WriteField(Span<byte> field, int length, int offset)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(field, checked((ushort)length));
        BinaryPrimitives.WriteUInt16LittleEndian(field[2..], checked((ushort)length));
        BinaryPrimitives.WriteUInt32LittleEndian(field[4..], (uint)offset);
    }
}
