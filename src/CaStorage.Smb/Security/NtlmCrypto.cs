using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace CaStorage.Smb.Security;

/// <summary>NTLMv2 key computations (MS-NLMP 3.3.2, 3.4.4, 3.4.5).</summary>
internal static class NtlmCrypto
{
    public const int KeyLength = 16;
    public const int SignatureLength = 16;
    public const uint SignatureVersion = 1;

    private static ReadOnlySpan<byte> ClientSigningMagic => "session key to client-to-server signing key magic constant\0"u8;
    private static ReadOnlySpan<byte> ServerSigningMagic => "session key to server-to-client signing key magic constant\0"u8;
    private static ReadOnlySpan<byte> ClientSealingMagic => "session key to client-to-server sealing key magic constant\0"u8;
    private static ReadOnlySpan<byte> ServerSealingMagic => "session key to server-to-client sealing key magic constant\0"u8;

    /// <summary>NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(User) || UserDom)) (MS-NLMP 3.3.2).</summary>
    public static byte[] NtOwfV2(ReadOnlySpan<byte> ntHash, string userName, string domainName)
    {
        var identity = Encoding.Unicode.GetBytes(userName.ToUpperInvariant() + domainName);
        return HMACMD5.HashData(ntHash, identity);
    }

    /// <summary>NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp).</summary>
    public static void NtProofStr(ReadOnlySpan<byte> responseKeyNt, ReadOnlySpan<byte> serverChallenge, ReadOnlySpan<byte> clientBlob, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.MD5, responseKeyNt);
        hmac.AppendData(serverChallenge);
        hmac.AppendData(clientBlob);
        hmac.GetHashAndReset(destination);
    }

    /// <summary>SIGNKEY (MS-NLMP 3.4.5.2), extended session security only.</summary>
    public static byte[] SignKey(ReadOnlySpan<byte> exportedSessionKey, bool clientToServer) =>
        Md5Concat(exportedSessionKey, clientToServer ? ClientSigningMagic : ServerSigningMagic);

    /// <summary>SEALKEY (MS-NLMP 3.4.5.3) with extended session security: key weakened per the 128/56 flags, then MD5 with the magic.</summary>
    public static byte[] SealKey(ReadOnlySpan<byte> exportedSessionKey, NtlmNegotiateFlags flags, bool clientToServer)
    {
        int length = (flags & NtlmNegotiateFlags.Negotiate128) != 0 ? 16
            : (flags & NtlmNegotiateFlags.Negotiate56) != 0 ? 7
            : 5;
        return Md5Concat(exportedSessionKey[..Math.Min(length, exportedSessionKey.Length)], clientToServer ? ClientSealingMagic : ServerSealingMagic);
    }

    /// <summary>
    /// NTLMSSP_MESSAGE_SIGNATURE with extended session security (MS-NLMP 3.4.4.2):
    /// Version (1) || Checksum (8) || SeqNum (4), Checksum = HMAC_MD5(SigningKey, SeqNum || Message)[0..8],
    /// RC4-encrypted with the sealing handle when key exchange was negotiated.
    /// </summary>
    public static void ComputeSignature(ReadOnlySpan<byte> signingKey, Rc4? sealingHandle, uint sequenceNumber, ReadOnlySpan<byte> message, Span<byte> signature)
    {
        Span<byte> seq = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(seq, sequenceNumber);
        Span<byte> mac = stackalloc byte[16];
        using (var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.MD5, signingKey))
        {
            hmac.AppendData(seq);
            hmac.AppendData(message);
            hmac.GetHashAndReset(mac);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(signature, SignatureVersion);
        var checksum = signature.Slice(4, 8);
        if (sealingHandle is not null)
        {
            sealingHandle.Transform(mac[..8], checksum);
        }
        else
        {
            mac[..8].CopyTo(checksum);
        }

        seq.CopyTo(signature[12..]);
    }

    private static byte[] Md5Concat(ReadOnlySpan<byte> key, ReadOnlySpan<byte> magic)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        md5.AppendData(key);
        md5.AppendData(magic);
        return md5.GetHashAndReset();
    }
}
