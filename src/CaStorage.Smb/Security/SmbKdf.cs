using System.Security.Cryptography;

namespace CaStorage.Smb.Security;

/// <summary>SMB2 dialect revision numbers (MS-SMB2 2.2.3).</summary>
internal static class SmbDialects
{
    public const ushort Smb202 = 0x0202;
    public const ushort Smb210 = 0x0210;
    public const ushort Smb300 = 0x0300;
    public const ushort Smb302 = 0x0302;
    public const ushort Smb311 = 0x0311;

    public static bool IsSmb3(ushort dialect) => dialect >= Smb300;
}

/// <summary>
/// The SMB 3.x key derivation function (MS-SMB2 3.1.4.2): SP800-108 counter mode with
/// HMAC-SHA256, r = 32, one iteration per 256 bits of output. The PRF input is
/// i || Label || 0x00 || Context || L, which is exactly the layout of
/// <see cref="SP800108HmacCounterKdf"/>; MS-SMB2's labels and contexts carry their own
/// trailing NUL in addition to that separator byte.
/// </summary>
internal static class SmbKdf
{
    /// <summary>
    /// Derives <paramref name="output"/>.Length bytes (16 for L = 128, 32 for L = 256 as used by the
    /// AES-256 ciphers) from <paramref name="key"/>.
    /// </summary>
    public static void Derive(ReadOnlySpan<byte> key, ReadOnlySpan<byte> label, ReadOnlySpan<byte> context, Span<byte> output16)
    {
        if (output16.Length is not (16 or 32))
        {
            throw new ArgumentException("SMB keys are 128 or 256 bits.", nameof(output16));
        }

        SP800108HmacCounterKdf.DeriveBytes(key, HashAlgorithmName.SHA256, label, context, output16);
    }

    public static byte[] Derive(ReadOnlySpan<byte> key, ReadOnlySpan<byte> label, ReadOnlySpan<byte> context)
    {
        var output = new byte[16];
        Derive(key, label, context, output);
        return output;
    }

    /// <summary>Label and context strings of MS-SMB2 3.2.5.3.1 / 3.3.5.5.3, each with its trailing NUL.</summary>
    internal static class Labels
    {
        // Dialects 3.0 and 3.0.2.
        public static ReadOnlySpan<byte> Smb30SigningLabel => "SMB2AESCMAC\0"u8;
        public static ReadOnlySpan<byte> Smb30SigningContext => "SmbSign\0"u8;
        public static ReadOnlySpan<byte> Smb30EncryptionLabel => "SMB2AESCCM\0"u8;
        /// <summary>Context of the key that protects client-to-server traffic (the server decrypts with it).</summary>
        public static ReadOnlySpan<byte> Smb30ServerInContext => "ServerIn \0"u8;
        /// <summary>Context of the key that protects server-to-client traffic (the server encrypts with it).</summary>
        public static ReadOnlySpan<byte> Smb30ServerOutContext => "ServerOut\0"u8;
        public static ReadOnlySpan<byte> Smb30ApplicationLabel => "SMB2APP\0"u8;
        public static ReadOnlySpan<byte> Smb30ApplicationContext => "SmbRpc\0"u8;

        // Dialect 3.1.1: the context is Session.PreauthIntegrityHashValue.
        public static ReadOnlySpan<byte> Smb311SigningLabel => "SMBSigningKey\0"u8;
        /// <summary>Client-to-server cipher key (server decrypts with it).</summary>
        public static ReadOnlySpan<byte> Smb311ClientToServerCipherLabel => "SMBC2SCipherKey\0"u8;
        /// <summary>Server-to-client cipher key (server encrypts with it).</summary>
        public static ReadOnlySpan<byte> Smb311ServerToClientCipherLabel => "SMBS2CCipherKey\0"u8;
        public static ReadOnlySpan<byte> Smb311ApplicationLabel => "SMBAppKey\0"u8;
    }
}

/// <summary>Per-session keys (MS-SMB2 3.3.5.5.3 server side).</summary>
/// <param name="Signing">Session.SigningKey (for 2.0.2/2.1 the session key itself).</param>
/// <param name="EncryptServerIn">Session.DecryptionKey: protects client-to-server messages. Null before 3.0.</param>
/// <param name="EncryptServerOut">Session.EncryptionKey: protects server-to-client messages. Null before 3.0.</param>
/// <param name="Application">Session.ApplicationKey. For 2.0.2/2.1 the session key.</param>
internal sealed record SmbSessionKeys(byte[] Signing, byte[]? EncryptServerIn, byte[]? EncryptServerOut, byte[] Application)
{
    /// <summary>
    /// Derives the session's keys. <paramref name="sessionKey"/> is the authentication
    /// protocol's session key (first 16 bytes are used, shorter keys are zero-padded, MS-SMB2 3.3.5.5.3);
    /// <paramref name="preauthHash"/> is the 64-byte Session.PreauthIntegrityHashValue, required for 3.1.1.
    /// With an AES-256 <paramref name="cipher"/> (3.1.1 only) the two cipher keys are 32 bytes (L = 256) and are
    /// derived from Session.FullSessionKey, the whole <paramref name="sessionKey"/> (16 bytes for NTLM, so the KDF
    /// key is the same and only L and the output length change); the signing and application keys stay 128-bit,
    /// as in Samba (libcli/smb/smb2_signing.c) and the Windows vectors.
    /// </summary>
    public static SmbSessionKeys Derive(ushort dialect, byte[] sessionKey, byte[]? preauthHash, SmbCipher cipher = SmbCipher.None)
    {
        ArgumentNullException.ThrowIfNull(sessionKey);

        // MS-SMB2 3.3.5.5.3: "the first 16 bytes of the cryptographic key ... right-padded with zero bytes if less".
        var key = new byte[16];
        sessionKey.AsSpan(0, Math.Min(16, sessionKey.Length)).CopyTo(key);

        switch (dialect)
        {
            case SmbDialects.Smb202:
            case SmbDialects.Smb210:
                return new SmbSessionKeys(key, null, null, (byte[])key.Clone());

            case SmbDialects.Smb300:
            case SmbDialects.Smb302:
                return new SmbSessionKeys(
                    SmbKdf.Derive(key, SmbKdf.Labels.Smb30SigningLabel, SmbKdf.Labels.Smb30SigningContext),
                    SmbKdf.Derive(key, SmbKdf.Labels.Smb30EncryptionLabel, SmbKdf.Labels.Smb30ServerInContext),
                    SmbKdf.Derive(key, SmbKdf.Labels.Smb30EncryptionLabel, SmbKdf.Labels.Smb30ServerOutContext),
                    SmbKdf.Derive(key, SmbKdf.Labels.Smb30ApplicationLabel, SmbKdf.Labels.Smb30ApplicationContext));

            case SmbDialects.Smb311:
                if (preauthHash is not { Length: 64 })
                {
                    throw new ArgumentException("SMB 3.1.1 needs the 64-byte preauth integrity hash.", nameof(preauthHash));
                }

                if (SmbCiphers.Is256(cipher))
                {
                    var full = sessionKey.Length >= 16 ? sessionKey : key;
                    var serverIn = new byte[32];
                    var serverOut = new byte[32];
                    SmbKdf.Derive(full, SmbKdf.Labels.Smb311ClientToServerCipherLabel, preauthHash, serverIn);
                    SmbKdf.Derive(full, SmbKdf.Labels.Smb311ServerToClientCipherLabel, preauthHash, serverOut);
                    return new SmbSessionKeys(
                        SmbKdf.Derive(key, SmbKdf.Labels.Smb311SigningLabel, preauthHash),
                        serverIn,
                        serverOut,
                        SmbKdf.Derive(key, SmbKdf.Labels.Smb311ApplicationLabel, preauthHash));
                }

                return new SmbSessionKeys(
                    SmbKdf.Derive(key, SmbKdf.Labels.Smb311SigningLabel, preauthHash),
                    SmbKdf.Derive(key, SmbKdf.Labels.Smb311ClientToServerCipherLabel, preauthHash),
                    SmbKdf.Derive(key, SmbKdf.Labels.Smb311ServerToClientCipherLabel, preauthHash),
                    SmbKdf.Derive(key, SmbKdf.Labels.Smb311ApplicationLabel, preauthHash));

            default:
                throw new ArgumentOutOfRangeException(nameof(dialect), $"Unknown SMB2 dialect 0x{dialect:X4}.");
        }
    }
}

/// <summary>
/// SMB 3.1.1 preauthentication integrity (MS-SMB2 3.3.5.4, 3.3.5.5): SHA-512 chained over the
/// NEGOTIATE and SESSION_SETUP messages, H(i) = SHA512(H(i-1) || message), H(0) = 64 zero bytes.
/// </summary>
internal static class PreauthIntegrity
{
    public const int HashSize = 64;

    /// <summary>Replaces <paramref name="hash"/> (64 bytes) with SHA512(hash || message).</summary>
    public static void Update(Span<byte> hash, ReadOnlySpan<byte> message)
    {
        if (hash.Length != HashSize)
        {
            throw new ArgumentException("Preauth hash must be 64 bytes.", nameof(hash));
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        sha.AppendData(hash);
        sha.AppendData(message);
        sha.GetHashAndReset(hash);
    }
}
