using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CaStorage.Smb.Security;

/// <summary>SMB2 signing algorithms (MS-SMB2 2.2.3.1.7 SigningAlgorithmId, plus the 2.x HMAC).</summary>
internal enum SigningAlgorithm
{
    /// <summary>Dialects 2.0.2 and 2.1: first 16 bytes of HMAC-SHA256.</summary>
    HmacSha256,
    /// <summary>Dialects 3.x default: AES-128-CMAC.</summary>
    AesCmac,
    /// <summary>Dialect 3.1.1 when negotiated: AES-128-GMAC (AES-GCM, empty plaintext, message as AAD).</summary>
    AesGmac,
}

/// <summary>
/// Signs and verifies single SMB2 messages (MS-SMB2 3.1.4.1, 3.1.5.1). The span is one message:
/// its 64-byte header plus body, including any compound padding. The caller sets
/// SMB2_FLAGS_SIGNED before signing.
/// </summary>
internal static class SmbSigning
{
    public const int HeaderSize = 64;
    public const int SignatureOffset = 48;
    public const int SignatureSize = 16;

    internal const int FlagsOffset = 16;
    internal const int CommandOffset = 12;
    internal const int MessageIdOffset = 24;
    internal const uint FlagServerToRedir = 0x00000001;
    internal const ushort CommandCancel = 0x000C;

    /// <summary>Zeroes the Signature field of <paramref name="message"/> and writes the signature there.</summary>
    public static void Sign(SigningAlgorithm alg, ReadOnlySpan<byte> key, Span<byte> message)
    {
        using var signer = new SmbSigner(alg, key);
        signer.Sign(message);
    }

    /// <summary>Checks the signature of <paramref name="message"/> without modifying it.</summary>
    public static bool Verify(SigningAlgorithm alg, ReadOnlySpan<byte> key, ReadOnlySpan<byte> message)
    {
        using var signer = new SmbSigner(alg, key);
        return signer.Verify(message);
    }

    /// <summary>
    /// The AES-GMAC nonce (MS-SMB2 3.1.4.1): MessageId, then a 32-bit value whose bit 0 marks a
    /// server-to-client message and whose bit 1 marks a CANCEL request.
    /// </summary>
    internal static void BuildGmacNonce(ReadOnlySpan<byte> header, Span<byte> nonce12)
    {
        header.Slice(MessageIdOffset, 8).CopyTo(nonce12);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(header[FlagsOffset..]);
        ushort command = BinaryPrimitives.ReadUInt16LittleEndian(header[CommandOffset..]);
        uint role = flags & FlagServerToRedir;
        if (command == CommandCancel)
        {
            role |= 2;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(nonce12[8..], role);
    }
}

/// <summary>
/// A signing key bound to its algorithm, keeping the key schedule across messages (one per
/// session or channel). Not thread-safe.
/// </summary>
internal sealed class SmbSigner : IDisposable
{
    private const int GmacNonceSize = 12;
    private const int TagSize = 16;

    private readonly SigningAlgorithm _algorithm;
    private readonly IncrementalHash? _hmac;
    private readonly AesCmac? _cmac;
    private readonly AesGcm? _gcm;

    public SmbSigner(SigningAlgorithm algorithm, ReadOnlySpan<byte> key)
    {
        _algorithm = algorithm;
        switch (algorithm)
        {
            case SigningAlgorithm.HmacSha256:
                _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
                break;
            case SigningAlgorithm.AesCmac:
                _cmac = new AesCmac(key);
                break;
            case SigningAlgorithm.AesGmac:
                if (key.Length != 16)
                {
                    throw new ArgumentException("AES-GMAC signing key must be 16 bytes.", nameof(key));
                }

                _gcm = new AesGcm(key, TagSize);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(algorithm));
        }
    }

    public SigningAlgorithm Algorithm => _algorithm;

    public void Sign(Span<byte> message)
    {
        if (message.Length < SmbSigning.HeaderSize)
        {
            throw new ArgumentException("An SMB2 message is at least 64 bytes.", nameof(message));
        }

        var signature = message.Slice(SmbSigning.SignatureOffset, SmbSigning.SignatureSize);
        signature.Clear();
        Span<byte> mac = stackalloc byte[SmbSigning.SignatureSize];
        if (_algorithm == SigningAlgorithm.AesGmac)
        {
            // The message is contiguous here: no need to join header and body.
            Span<byte> nonce = stackalloc byte[GmacNonceSize];
            SmbSigning.BuildGmacNonce(message, nonce);
            _gcm!.Encrypt(nonce, [], [], mac, message);
        }
        else
        {
            Compute(message[..SmbSigning.HeaderSize], message[SmbSigning.HeaderSize..], mac);
        }

        mac.CopyTo(signature);
    }

    public bool Verify(ReadOnlySpan<byte> message)
    {
        if (message.Length < SmbSigning.HeaderSize)
        {
            return false;
        }

        // Work on a copy of the header with the signature zeroed; the body is used in place.
        Span<byte> header = stackalloc byte[SmbSigning.HeaderSize];
        message[..SmbSigning.HeaderSize].CopyTo(header);
        header.Slice(SmbSigning.SignatureOffset, SmbSigning.SignatureSize).Clear();

        Span<byte> mac = stackalloc byte[SmbSigning.SignatureSize];
        Compute(header, message[SmbSigning.HeaderSize..], mac);
        return CryptographicOperations.FixedTimeEquals(mac, message.Slice(SmbSigning.SignatureOffset, SmbSigning.SignatureSize));
    }

    public void Dispose()
    {
        _cmac?.Dispose();
        _gcm?.Dispose();
        _hmac?.Dispose();
    }

    /// <summary>MAC over header || body; <paramref name="header"/> already has a zero signature.</summary>
    private void Compute(ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, Span<byte> mac)
    {
        switch (_algorithm)
        {
            case SigningAlgorithm.HmacSha256:
            {
                // GetHashAndReset leaves the keyed instance ready for the next message.
                _hmac!.AppendData(header);
                _hmac.AppendData(body);
                Span<byte> full = stackalloc byte[32];
                _hmac.GetHashAndReset(full);
                full[..SmbSigning.SignatureSize].CopyTo(mac);
                break;
            }

            case SigningAlgorithm.AesCmac:
                _cmac!.ComputeJoined(header, body, mac);
                break;

            case SigningAlgorithm.AesGmac:
            {
                Span<byte> nonce = stackalloc byte[GmacNonceSize];
                SmbSigning.BuildGmacNonce(header, nonce);

                // AesGcm takes the associated data as one span, so join header and body in a pooled buffer.
                int length = header.Length + body.Length;
                byte[] aad = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    header.CopyTo(aad);
                    body.CopyTo(aad.AsSpan(header.Length));
                    _gcm!.Encrypt(nonce, [], [], mac[..TagSize], aad.AsSpan(0, length));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(aad);
                }

                break;
            }
        }
    }
}
