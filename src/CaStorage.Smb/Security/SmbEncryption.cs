using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CaStorage.Smb.Security;

/// <summary>SMB 3.x ciphers (MS-SMB2 2.2.3.1.2 SMB2_ENCRYPTION_CAPABILITIES Ciphers).</summary>
internal enum SmbCipher : ushort
{
    /// <summary>No cipher in common: the connection cannot encrypt.</summary>
    None = 0x0000,
    Aes128Ccm = 0x0001,
    Aes128Gcm = 0x0002,
    Aes256Ccm = 0x0003,
    Aes256Gcm = 0x0004,
}

/// <summary>Cipher properties and the server's choice among the client's ciphers.</summary>
internal static class SmbCiphers
{
    /// <summary>
    /// Server preference when several ciphers are offered (3.1.1): the order of Windows Server 2022 and of
    /// Samba's default "server smb3 encryption algorithms" (GCM before CCM, 128-bit before 256-bit).
    /// </summary>
    private static readonly SmbCipher[] Preference = [SmbCipher.Aes128Gcm, SmbCipher.Aes128Ccm, SmbCipher.Aes256Gcm, SmbCipher.Aes256Ccm];

    public static bool IsGcm(SmbCipher cipher) => cipher is SmbCipher.Aes128Gcm or SmbCipher.Aes256Gcm;

    public static bool Is256(SmbCipher cipher) => cipher is SmbCipher.Aes256Ccm or SmbCipher.Aes256Gcm;

    /// <summary>Key length in bytes: 32 for the AES-256 ciphers (L = 256, MS-SMB2 3.1.4.2), else 16.</summary>
    public static int KeySize(SmbCipher cipher) => Is256(cipher) ? 32 : 16;

    /// <summary>Bytes of the transform Nonce field the cipher uses: AES_CCM_Nonce (11) or AES_GCM_Nonce (12), MS-SMB2 2.2.41.</summary>
    public static int NonceSize(SmbCipher cipher) => IsGcm(cipher) ? 12 : 11;

    public static bool IsSupported(SmbCipher cipher) => cipher switch
    {
        SmbCipher.Aes128Ccm or SmbCipher.Aes256Ccm => AesCcm.IsSupported,
        SmbCipher.Aes128Gcm or SmbCipher.Aes256Gcm => AesGcm.IsSupported,
        _ => false,
    };

    /// <summary>
    /// MS-SMB2 3.3.5.4: the cipher for a 3.1.1 connection from the client's SMB2_ENCRYPTION_CAPABILITIES list, in server
    /// preference order; <see cref="SmbCipher.None"/> when there is none in common.
    /// </summary>
    public static SmbCipher Choose(IReadOnlyCollection<ushort> offered)
    {
        foreach (var c in Preference)
        {
            if (offered.Contains((ushort)c) && IsSupported(c)) return c;
        }
        return SmbCipher.None;
    }
}

/// <summary>
/// MS-SMB2 2.2.41 SMB2 TRANSFORM_HEADER, 52 bytes, followed by the encrypted message.
/// <code>
///  0 ProtocolId 0xFD 'S' 'M' 'B' | 4 Signature (16) | 20 Nonce (16: AES_CCM_Nonce(11)+Reserved(5) or AES_GCM_Nonce(12)+Reserved(4))
/// 36 OriginalMessageSize | 40 Reserved (2) | 42 Flags/EncryptionAlgorithm (2) | 44 SessionId (8)
/// </code>
/// The authenticated data is the header from Nonce to the end (bytes 20–51); the tag is the Signature.
/// </summary>
internal static class SmbTransformHeader
{
    public const int Size = 52;
    public const uint ProtocolId = 0x424D53FD;
    public const int SignatureOffset = 4;
    public const int SignatureSize = 16;
    public const int NonceOffset = 20;
    public const int NonceFieldSize = 16;
    public const int OriginalMessageSizeOffset = 36;
    public const int FlagsOffset = 42;
    public const int SessionIdOffset = 44;
    /// <summary>Flags/EncryptionAlgorithm: 0x0001, "Encrypted" for 3.1.1, SMB2_ENCRYPTION_AES128_CCM for 3.0/3.0.2.</summary>
    public const ushort FlagEncrypted = 0x0001;

    public static bool IsTransform(ReadOnlySpan<byte> frame) =>
        frame.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(frame) == ProtocolId;

    /// <summary>Reads the SessionId of a transform (no checks beyond the length).</summary>
    public static bool TryReadSessionId(ReadOnlySpan<byte> frame, out ulong sessionId)
    {
        sessionId = 0;
        if (frame.Length < Size) return false;
        sessionId = BinaryPrimitives.ReadUInt64LittleEndian(frame[SessionIdOffset..]);
        return true;
    }
}

/// <summary>
/// Encrypts and decrypts SMB2 messages in transforms for one session (MS-SMB2 3.1.4.3 and 3.3.5.2.1.1): AES-CCM
/// [RFC4309] or AES-GCM [RFC5084] with a 16-byte tag, the transform header from Nonce on as authenticated data.
/// One key protects each direction; the codec is built from the sender's point of view, so the server passes
/// (EncryptServerOut, EncryptServerIn) and a client (or a test) passes them the other way round. Thread-safe.
/// </summary>
internal sealed class SmbTransformCodec : IDisposable
{
    private const int TagSize = 16;

    private readonly AeadKey _encrypt;
    private readonly AeadKey _decrypt;
    private readonly uint _nonceSalt;
    private long _nonceCounter;

    /// <param name="sessionId">Session.SessionId, written into every transform this codec produces.</param>
    /// <param name="cipher">Connection.CipherId (AES-128-CCM for 3.0 and 3.0.2).</param>
    /// <param name="encryptionKey">Key of outgoing messages (the server's Session.EncryptionKey).</param>
    /// <param name="decryptionKey">Key of incoming messages (the server's Session.DecryptionKey).</param>
    public SmbTransformCodec(ulong sessionId, SmbCipher cipher, ReadOnlySpan<byte> encryptionKey, ReadOnlySpan<byte> decryptionKey)
    {
        if (!SmbCiphers.IsSupported(cipher)) throw new ArgumentOutOfRangeException(nameof(cipher), $"cipher {cipher} is not available");
        var keySize = SmbCiphers.KeySize(cipher);
        if (encryptionKey.Length != keySize || decryptionKey.Length != keySize)
            throw new ArgumentException($"{cipher} needs {keySize}-byte keys.");
        SessionId = sessionId;
        Cipher = cipher;
        _encrypt = new AeadKey(cipher, encryptionKey);
        _decrypt = new AeadKey(cipher, decryptionKey);
        // The nonce is a 64-bit counter and a random per-codec salt: unique for every message under this key.
        _nonceSalt = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
    }

    public ulong SessionId { get; }
    public SmbCipher Cipher { get; }
    public int NonceSize => SmbCiphers.NonceSize(Cipher);

    /// <summary>Length of the transform carrying a message of <paramref name="messageLength"/> bytes.</summary>
    public static int TransformedLength(int messageLength) => SmbTransformHeader.Size + messageLength;

    /// <summary>
    /// Writes the transform header and the encrypted <paramref name="message"/> into <paramref name="destination"/>
    /// (<see cref="TransformedLength"/> bytes) with a fresh nonce.
    /// </summary>
    public void Encrypt(ReadOnlySpan<byte> message, Span<byte> destination)
    {
        Span<byte> nonce = stackalloc byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(nonce, Interlocked.Increment(ref _nonceCounter));
        BinaryPrimitives.WriteUInt32LittleEndian(nonce[8..], _nonceSalt);
        Encrypt(message, nonce[..NonceSize], destination);
    }

    /// <summary>
    /// Encrypts with the given nonce: the cipher's 11 (CCM) or 12 (GCM) bytes, or the whole 16-byte Nonce field (whose
    /// tail is then authenticated as sent, as Windows 3.0 fills it). Never reuse a nonce: for tests.
    /// </summary>
    public void Encrypt(ReadOnlySpan<byte> message, ReadOnlySpan<byte> nonce, Span<byte> destination)
    {
        if (nonce.Length != NonceSize && nonce.Length != SmbTransformHeader.NonceFieldSize)
            throw new ArgumentException($"{Cipher} uses a {NonceSize}-byte nonce.", nameof(nonce));
        if (destination.Length < TransformedLength(message.Length)) throw new ArgumentException("destination too small", nameof(destination));
        var header = destination[..SmbTransformHeader.Size];
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, SmbTransformHeader.ProtocolId);
        nonce.CopyTo(header[SmbTransformHeader.NonceOffset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[SmbTransformHeader.OriginalMessageSizeOffset..], (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[SmbTransformHeader.FlagsOffset..], SmbTransformHeader.FlagEncrypted);
        BinaryPrimitives.WriteUInt64LittleEndian(header[SmbTransformHeader.SessionIdOffset..], SessionId);
        _encrypt.Encrypt(nonce[..NonceSize], message, destination.Slice(SmbTransformHeader.Size, message.Length),
            header.Slice(SmbTransformHeader.SignatureOffset, TagSize), header[SmbTransformHeader.NonceOffset..]);
    }

    /// <summary>
    /// Checks and decrypts a transform (MS-SMB2 3.3.5.2.1.1) into <paramref name="message"/>, which must hold
    /// OriginalMessageSize bytes. False when the header is malformed (short, wrong ProtocolId, Flags not 0x0001,
    /// OriginalMessageSize not the rest of the frame, another session) or the tag does not authenticate.
    /// </summary>
    public bool TryDecrypt(ReadOnlySpan<byte> transform, Span<byte> message, out int messageLength)
    {
        messageLength = 0;
        if (!TryValidate(transform, out var length) || message.Length < length) return false;
        if (BinaryPrimitives.ReadUInt64LittleEndian(transform[SmbTransformHeader.SessionIdOffset..]) != SessionId) return false;
        var header = transform[..SmbTransformHeader.Size];
        if (!_decrypt.TryDecrypt(header.Slice(SmbTransformHeader.NonceOffset, NonceSize), transform.Slice(SmbTransformHeader.Size, length),
                header.Slice(SmbTransformHeader.SignatureOffset, TagSize), message[..length], header[SmbTransformHeader.NonceOffset..]))
            return false;
        messageLength = length;
        return true;
    }

    /// <summary>The structural checks of MS-SMB2 3.3.5.2.1.1; <paramref name="messageLength"/> is OriginalMessageSize.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> transform, out int messageLength)
    {
        messageLength = 0;
        // "If the size of the message received from the client is not greater than the size of the SMB2 TRANSFORM_HEADER ... disconnect."
        if (transform.Length <= SmbTransformHeader.Size || !SmbTransformHeader.IsTransform(transform)) return false;
        // "If the Flags/EncryptionAlgorithm in the SMB2 TRANSFORM_HEADER is not 0x0001 ... disconnect."
        if (BinaryPrimitives.ReadUInt16LittleEndian(transform[SmbTransformHeader.FlagsOffset..]) != SmbTransformHeader.FlagEncrypted) return false;
        var original = BinaryPrimitives.ReadUInt32LittleEndian(transform[SmbTransformHeader.OriginalMessageSizeOffset..]);
        if (original != (uint)(transform.Length - SmbTransformHeader.Size)) return false;
        messageLength = (int)original;
        return true;
    }

    public void Dispose()
    {
        _encrypt.Dispose();
        _decrypt.Dispose();
    }

    /// <summary>One AES-CCM or AES-GCM key. The BCL types keep the key schedule; calls are serialised.</summary>
    private sealed class AeadKey : IDisposable
    {
        private readonly AesCcm? _ccm;
        private readonly AesGcm? _gcm;
        private readonly Lock _lock = new();

        public AeadKey(SmbCipher cipher, ReadOnlySpan<byte> key)
        {
            if (SmbCiphers.IsGcm(cipher)) _gcm = new AesGcm(key, TagSize);
            else _ccm = new AesCcm(key);
        }

        public void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> aad)
        {
            lock (_lock)
            {
                if (_gcm is not null) _gcm.Encrypt(nonce, plaintext, ciphertext, tag, aad);
                else _ccm!.Encrypt(nonce, plaintext, ciphertext, tag, aad);
            }
        }

        public bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> aad)
        {
            try
            {
                lock (_lock)
                {
                    if (_gcm is not null) _gcm.Decrypt(nonce, ciphertext, tag, plaintext, aad);
                    else _ccm!.Decrypt(nonce, ciphertext, tag, plaintext, aad);
                }
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                plaintext.Clear();
                return false;
            }
        }

        public void Dispose()
        {
            _ccm?.Dispose();
            _gcm?.Dispose();
        }
    }
}
