using System.Buffers.Binary;
using System.Text;

namespace CaStorage.Smb.Security;

/// <summary>NTLMSSP NegotiateFlags (MS-NLMP 2.2.2.5).</summary>
[Flags]
internal enum NtlmNegotiateFlags : uint
{
    None = 0,
    Unicode = 0x00000001,
    Oem = 0x00000002,
    RequestTarget = 0x00000004,
    Sign = 0x00000010,
    Seal = 0x00000020,
    Datagram = 0x00000040,
    LmKey = 0x00000080,
    Ntlm = 0x00000200,
    Anonymous = 0x00000800,
    OemDomainSupplied = 0x00001000,
    OemWorkstationSupplied = 0x00002000,
    AlwaysSign = 0x00008000,
    TargetTypeDomain = 0x00010000,
    TargetTypeServer = 0x00020000,
    ExtendedSessionSecurity = 0x00080000,
    Identify = 0x00100000,
    RequestNonNtSessionKey = 0x00400000,
    TargetInfo = 0x00800000,
    Version = 0x02000000,
    Negotiate128 = 0x20000000,
    KeyExchange = 0x40000000,
    Negotiate56 = 0x80000000,
}

/// <summary>AV_PAIR identifiers (MS-NLMP 2.2.2.1).</summary>
internal enum NtlmAvId : ushort
{
    Eol = 0,
    NbComputerName = 1,
    NbDomainName = 2,
    DnsComputerName = 3,
    DnsDomainName = 4,
    DnsTreeName = 5,
    Flags = 6,
    Timestamp = 7,
    SingleHost = 8,
    TargetName = 9,
    ChannelBindings = 10,
}

/// <summary>Wire constants and small codecs shared by the NTLM messages (MS-NLMP 2.2).</summary>
internal static class NtlmWire
{
    public const int SignatureLength = 8;
    public const uint NegotiateType = 1;
    public const uint ChallengeType = 2;
    public const uint AuthenticateType = 3;

    /// <summary>MsvAvFlags bit: the AUTHENTICATE message carries a MIC (MS-NLMP 2.2.2.1).</summary>
    public const uint AvFlagMicPresent = 0x00000002;

    public static ReadOnlySpan<byte> Signature => "NTLMSSP\0"u8;

    public static bool HasSignature(ReadOnlySpan<byte> message, uint messageType) =>
        message.Length >= 12
        && message[..SignatureLength].SequenceEqual(Signature)
        && BinaryPrimitives.ReadUInt32LittleEndian(message[8..]) == messageType;

    /// <summary>
    /// Reads a Len/MaxLen/BufferOffset field triple at <paramref name="fieldOffset"/> and returns
    /// the payload it points to. An empty field is valid whatever its offset.
    /// </summary>
    public static bool TryReadPayload(ReadOnlySpan<byte> message, int fieldOffset, out ReadOnlySpan<byte> payload, out int payloadOffset)
    {
        payload = default;
        payloadOffset = 0;
        if (fieldOffset < 0 || fieldOffset + 8 > message.Length)
        {
            return false;
        }

        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(message[fieldOffset..]);
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(message[(fieldOffset + 4)..]);
        if (length == 0)
        {
            payloadOffset = -1;
            return true;
        }

        if ((ulong)offset + length > (ulong)message.Length)
        {
            return false;
        }

        payloadOffset = (int)offset;
        payload = message.Slice((int)offset, length);
        return true;
    }

    public static bool TryDecodeString(ReadOnlySpan<byte> bytes, bool unicode, out string value)
    {
        if (unicode)
        {
            if (bytes.Length % 2 != 0)
            {
                value = string.Empty;
                return false;
            }

            value = Encoding.Unicode.GetString(bytes);
            return true;
        }

        value = Encoding.Latin1.GetString(bytes);
        return true;
    }

    /// <summary>Walks an AV_PAIR list; false when it runs past the end or lacks MsvAvEOL.</summary>
    public static bool TryFindAvPair(ReadOnlySpan<byte> avList, NtlmAvId id, out ReadOnlySpan<byte> value, out bool found)
    {
        value = default;
        found = false;
        int pos = 0;
        while (true)
        {
            if (pos + 4 > avList.Length)
            {
                return false;
            }

            var avId = (NtlmAvId)BinaryPrimitives.ReadUInt16LittleEndian(avList[pos..]);
            int avLen = BinaryPrimitives.ReadUInt16LittleEndian(avList[(pos + 2)..]);
            pos += 4;
            if (avId == NtlmAvId.Eol)
            {
                return true;
            }

            if (pos + avLen > avList.Length)
            {
                return false;
            }

            if (avId == id && !found)
            {
                value = avList.Slice(pos, avLen);
                found = true;
            }

            pos += avLen;
        }
    }
}

/// <summary>
/// NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1). Only the flags matter to the server; the domain and
/// workstation fields are informational and ignored.
/// <code>
///  0 Signature "NTLMSSP\0" (8) | 8 MessageType = 1 (4) | 12 NegotiateFlags (4)
/// 16 DomainNameFields (8) | 24 WorkstationFields (8) | 32 Version (8, optional) | payload
/// </code>
/// </summary>
internal readonly record struct NtlmNegotiateMessage(NtlmNegotiateFlags Flags)
{
    public const int MinimumLength = 16;

    public static bool TryParse(ReadOnlySpan<byte> message, out NtlmNegotiateMessage negotiate)
    {
        negotiate = default;
        if (message.Length < MinimumLength || !NtlmWire.HasSignature(message, NtlmWire.NegotiateType))
        {
            return false;
        }

        negotiate = new NtlmNegotiateMessage((NtlmNegotiateFlags)BinaryPrimitives.ReadUInt32LittleEndian(message[12..]));
        return true;
    }
}

/// <summary>
/// AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3), parsed into slices of the original buffer.
/// <code>
///  0 Signature (8)            |  8 MessageType = 3 (4)
/// 12 LmChallengeResponseFields (8) | 20 NtChallengeResponseFields (8)
/// 28 DomainNameFields (8)     | 36 UserNameFields (8)   | 44 WorkstationFields (8)
/// 52 EncryptedRandomSessionKeyFields (8) | 60 NegotiateFlags (4)
/// 64 Version (8)              | 72 MIC (16, present when MsvAvFlags says so) | payload
/// </code>
/// </summary>
internal readonly ref struct NtlmAuthenticateMessage
{
    public const int FixedLength = 64;
    public const int MicOffset = 72;
    public const int MicLength = 16;
    public const int LengthWithMic = MicOffset + MicLength;

    public ReadOnlySpan<byte> LmChallengeResponse { get; init; }
    public ReadOnlySpan<byte> NtChallengeResponse { get; init; }
    public string DomainName { get; init; }
    public string UserName { get; init; }
    public string Workstation { get; init; }
    public ReadOnlySpan<byte> EncryptedRandomSessionKey { get; init; }
    public NtlmNegotiateFlags Flags { get; init; }

    /// <summary>Smallest offset of any non-empty payload (or the message length if none).</summary>
    public int MinimumPayloadOffset { get; init; }

    public static bool TryParse(ReadOnlySpan<byte> message, out NtlmAuthenticateMessage authenticate)
    {
        authenticate = default;
        if (message.Length < FixedLength || !NtlmWire.HasSignature(message, NtlmWire.AuthenticateType))
        {
            return false;
        }

        var flags = (NtlmNegotiateFlags)BinaryPrimitives.ReadUInt32LittleEndian(message[60..]);
        bool unicode = (flags & NtlmNegotiateFlags.Unicode) != 0;
        int minOffset = message.Length;

        if (!NtlmWire.TryReadPayload(message, 12, out var lm, out int o1)
            || !NtlmWire.TryReadPayload(message, 20, out var nt, out int o2)
            || !NtlmWire.TryReadPayload(message, 28, out var domainBytes, out int o3)
            || !NtlmWire.TryReadPayload(message, 36, out var userBytes, out int o4)
            || !NtlmWire.TryReadPayload(message, 44, out var workstationBytes, out int o5)
            || !NtlmWire.TryReadPayload(message, 52, out var sessionKey, out int o6))
        {
            return false;
        }

        foreach (int o in (ReadOnlySpan<int>)[o1, o2, o3, o4, o5, o6])
        {
            if (o >= 0)
            {
                minOffset = Math.Min(minOffset, o);
            }
        }

        if (!NtlmWire.TryDecodeString(domainBytes, unicode, out var domain)
            || !NtlmWire.TryDecodeString(userBytes, unicode, out var user)
            || !NtlmWire.TryDecodeString(workstationBytes, unicode, out var workstation))
        {
            return false;
        }

        authenticate = new NtlmAuthenticateMessage
        {
            LmChallengeResponse = lm,
            NtChallengeResponse = nt,
            DomainName = domain,
            UserName = user,
            Workstation = workstation,
            EncryptedRandomSessionKey = sessionKey,
            Flags = flags,
            MinimumPayloadOffset = minOffset,
        };
        return true;
    }
}

/// <summary>
/// NTLMv2_RESPONSE (MS-NLMP 2.2.2.8) = NTProofStr (16) || NTLMv2_CLIENT_CHALLENGE (2.2.2.7):
/// RespType (1) = 1, HiRespType (1) = 1, Reserved (6), TimeStamp (8), ChallengeFromClient (8),
/// Reserved (4), AvPairs (variable), then padding.
/// </summary>
internal readonly ref struct NtlmV2Response
{
    public const int ProofLength = 16;
    public const int ClientChallengeHeaderLength = 28;
    public const int MinimumLength = ProofLength + ClientChallengeHeaderLength + 4; // + MsvAvEOL

    public ReadOnlySpan<byte> NtProofStr { get; init; }

    /// <summary>The NTLMv2_CLIENT_CHALLENGE blob ("temp" in MS-NLMP 3.3.2), hashed as sent.</summary>
    public ReadOnlySpan<byte> ClientBlob { get; init; }

    public ReadOnlySpan<byte> AvPairs { get; init; }

    public static bool TryParse(ReadOnlySpan<byte> response, out NtlmV2Response parsed)
    {
        parsed = default;
        if (response.Length < MinimumLength)
        {
            return false;
        }

        var blob = response[ProofLength..];
        if (blob[0] != 1 || blob[1] != 1)
        {
            return false;
        }

        parsed = new NtlmV2Response
        {
            NtProofStr = response[..ProofLength],
            ClientBlob = blob,
            AvPairs = blob[ClientChallengeHeaderLength..],
        };
        return true;
    }
}
