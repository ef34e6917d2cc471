using System.Buffers.Binary;
using System.Security.Cryptography;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.3/2.2.4 NEGOTIATE and 3.3.5.4.</summary>
internal static class NegotiateHandler
{
    private const ushort PreauthIntegrityCapabilities = 0x0001, EncryptionCapabilities = 0x0002, SigningCapabilities = 0x0008;
    private const ushort HashSha512 = 0x0001;

    internal const uint CapDfs = 0x1, CapLeasing = 0x2, CapLargeMtu = 0x4, CapMultiChannel = 0x8, CapPersistentHandles = 0x10,
        CapDirectoryLeasing = 0x20, CapEncryption = 0x40;

    internal sealed record NegotiateContexts(bool PreauthSha512, byte[]? Salt, SigningAlgorithm? Signing, bool SigningContextSeen, bool EncryptionContextSeen,
        IReadOnlyCollection<ushort>? Ciphers = null);

    /// <summary>
    /// NEGOTIATE request: StructureSize(36) DialectCount SecurityMode Reserved Capabilities ClientGuid(16)
    /// NegotiateContextOffset(4)/NegotiateContextCount(2)/Reserved2(2) | ClientStartTime(8), Dialects[DialectCount].
    /// </summary>
    public static ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var m = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU16(m, b + 2, out var dialectCount);
        SmbReader.TryU16(m, b + 4, out var securityMode);
        SmbReader.TryU32(m, b + 8, out var capabilities);
        // MS-SMB2 3.3.5.4: DialectCount 0 → STATUS_INVALID_PARAMETER.
        if (dialectCount == 0 || m.Length < b + 36 + dialectCount * 2) return ValueTask.FromResult(NtStatus.InvalidParameter);
        var clientGuid = new Guid(m.Slice(b + 12, 16));
        var dialects = new ushort[dialectCount];
        for (var i = 0; i < dialectCount; i++) dialects[i] = BinaryPrimitives.ReadUInt16LittleEndian(m[(b + 36 + i * 2)..]);

        ushort chosen = 0;
        foreach (var d in dialects)
        {
            if (SmbDialect.IsSupported(d) && d >= c.Server.Settings.MinDialect && d <= c.Server.Settings.MaxDialect && d > chosen) chosen = d;
        }
        if (chosen == 0) return ValueTask.FromResult(NtStatus.NotSupported);

        NegotiateContexts? contexts = null;
        if (chosen == SmbDialect.Smb311)
        {
            SmbReader.TryU32(m, b + 28, out var ctxOffset);
            SmbReader.TryU16(m, b + 32, out var ctxCount);
            var status = ParseContexts(m, ctxOffset, ctxCount, out contexts);
            if (status != NtStatus.Success) return ValueTask.FromResult(status);
            // MS-SMB2 3.3.5.4: 3.1.1 without a SHA-512 preauth integrity context fails.
            if (!contexts!.PreauthSha512) return ValueTask.FromResult(NtStatus.InvalidParameter);
        }

        c.Dialect = chosen;
        c.Negotiated = true;
        c.ClientGuid = clientGuid;
        c.ClientSecurityMode = securityMode;
        c.ClientCapabilities = capabilities;
        c.ClientDialects = dialects;
        c.SupportsMultiCredit = chosen >= SmbDialect.Smb210;
        c.SigningAlgorithm = chosen >= SmbDialect.Smb300 ? SigningAlgorithm.AesCmac : SigningAlgorithm.HmacSha256;
        if (contexts?.Signing is { } alg) c.SigningAlgorithm = alg;
        c.CipherId = ChooseCipher(c.Server.Settings.Encryption, chosen, capabilities, contexts);

        if (chosen == SmbDialect.Smb311)
        {
            // Connection.PreauthIntegrityHashValue = SHA512(zero64 || request), then || response (MS-SMB2 3.3.5.4).
            var h = new byte[64];
            c.PreauthHash = Chain(h, m);
            r.AfterResponse = resp => c.PreauthHash = Chain(c.PreauthHash!, resp);
        }

        WriteResponse(c, r.Out, r.ResponseStart, chosen, contexts);
        return ValueTask.FromResult(NtStatus.Success);
    }

    /// <summary>
    /// Connection.CipherId (MS-SMB2 3.3.5.4): AES-128-CCM for a 3.0/3.0.2 client that sets SMB2_GLOBAL_CAP_ENCRYPTION;
    /// for 3.1.1 the first cipher of the server's preference the client's ENCRYPTION_CAPABILITIES offers. None when the
    /// server has encryption off or there is nothing in common.
    /// </summary>
    private static SmbCipher ChooseCipher(SmbEncryptionMode mode, ushort dialect, uint clientCapabilities, NegotiateContexts? contexts)
    {
        if (mode == SmbEncryptionMode.Off) return SmbCipher.None;
        if (dialect is SmbDialect.Smb300 or SmbDialect.Smb302)
            return (clientCapabilities & CapEncryption) != 0 && SmbCiphers.IsSupported(SmbCipher.Aes128Ccm) ? SmbCipher.Aes128Ccm : SmbCipher.None;
        if (dialect == SmbDialect.Smb311 && contexts?.Ciphers is { } offered) return SmbCiphers.Choose(offered);
        return SmbCipher.None;
    }

    internal static byte[] Chain(byte[] previous, ReadOnlySpan<byte> message)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        sha.AppendData(previous);
        sha.AppendData(message);
        return sha.GetHashAndReset();
    }

    private static NtStatus ParseContexts(ReadOnlySpan<byte> m, uint offset, ushort count, out NegotiateContexts? result)
    {
        result = null;
        bool sha512 = false, sawPreauth = false, sawSigning = false, sawEncryption = false;
        SigningAlgorithm? signing = null;
        byte[]? salt = null;
        List<ushort>? ciphers = null;
        long off = offset;
        if (count == 0) return NtStatus.InvalidParameter;
        for (var i = 0; i < count; i++)
        {
            off = (off + 7) & ~7L;
            if (off + 8 > m.Length) return NtStatus.InvalidParameter;
            var type = BinaryPrimitives.ReadUInt16LittleEndian(m[(int)off..]);
            var dataLen = BinaryPrimitives.ReadUInt16LittleEndian(m[((int)off + 2)..]);
            var dataStart = off + 8;
            if (dataStart + dataLen > m.Length) return NtStatus.InvalidParameter;
            var data = m.Slice((int)dataStart, dataLen);
            switch (type)
            {
                case PreauthIntegrityCapabilities:
                    // Only one of each context type (MS-SMB2 3.3.5.4).
                    if (sawPreauth) return NtStatus.InvalidParameter;
                    sawPreauth = true;
                    if (data.Length < 4) return NtStatus.InvalidParameter;
                    var algCount = BinaryPrimitives.ReadUInt16LittleEndian(data);
                    var saltLen = BinaryPrimitives.ReadUInt16LittleEndian(data[2..]);
                    if (algCount == 0 || 4 + algCount * 2 + saltLen > data.Length) return NtStatus.InvalidParameter;
                    for (var a = 0; a < algCount; a++)
                        if (BinaryPrimitives.ReadUInt16LittleEndian(data[(4 + a * 2)..]) == HashSha512) sha512 = true;
                    if (!sha512) return NtStatus.SmbNoPreauthIntegrityHashOverlap;
                    salt = data.Slice(4 + algCount * 2, saltLen).ToArray();
                    break;
                case EncryptionCapabilities:
                    if (sawEncryption) return NtStatus.InvalidParameter;
                    sawEncryption = true;
                    if (data.Length < 2) return NtStatus.InvalidParameter;
                    var cipherCount = BinaryPrimitives.ReadUInt16LittleEndian(data);
                    // MS-SMB2 2.2.3.1.2: CipherCount MUST be greater than zero.
                    if (cipherCount == 0 || 2 + cipherCount * 2 > data.Length) return NtStatus.InvalidParameter;
                    ciphers = new List<ushort>(cipherCount);
                    for (var a = 0; a < cipherCount; a++) ciphers.Add(BinaryPrimitives.ReadUInt16LittleEndian(data[(2 + a * 2)..]));
                    break;
                case SigningCapabilities:
                    if (sawSigning) return NtStatus.InvalidParameter;
                    sawSigning = true;
                    if (data.Length < 2) return NtStatus.InvalidParameter;
                    var n = BinaryPrimitives.ReadUInt16LittleEndian(data);
                    if (n == 0 || 2 + n * 2 > data.Length) return NtStatus.InvalidParameter;
                    // Prefer AES-GMAC, then AES-CMAC, then HMAC-SHA256 (server preference order, as Windows).
                    var offered = new HashSet<ushort>();
                    for (var a = 0; a < n; a++) offered.Add(BinaryPrimitives.ReadUInt16LittleEndian(data[(2 + a * 2)..]));
                    signing = offered.Contains(2) ? SigningAlgorithm.AesGmac : offered.Contains(1) ? SigningAlgorithm.AesCmac
                        : offered.Contains(0) ? SigningAlgorithm.HmacSha256 : null;
                    break;
            }
            off = dataStart + dataLen;
        }
        result = new NegotiateContexts(sha512, salt, signing, sawSigning, sawEncryption, ciphers);
        return NtStatus.Success;
    }

    /// <summary>
    /// NEGOTIATE response: StructureSize(65) SecurityMode DialectRevision NegotiateContextCount ServerGuid(16) Capabilities
    /// MaxTransactSize MaxReadSize MaxWriteSize SystemTime ServerStartTime SecurityBufferOffset SecurityBufferLength
    /// NegotiateContextOffset, Buffer, Padding, NegotiateContextList.
    /// </summary>
    internal static void WriteResponse(SmbConnection c, ResponseBuffer o, int start, ushort dialect, NegotiateContexts? contexts)
    {
        var s = c.Server.Settings;
        ushort securityMode = (ushort)(0x1 | (s.SigningRequired ? 0x2 : 0));
        uint caps = 0;
        if (dialect >= SmbDialect.Smb210 && dialect != SmbDialect.Wildcard) caps |= CapLargeMtu | CapLeasing;
        if (dialect == SmbDialect.Wildcard) caps |= CapLargeMtu;
        // 3.0/3.0.2 announce encryption as a capability; 3.1.1 only through the encryption context.
        if (dialect is SmbDialect.Smb300 or SmbDialect.Smb302 && c.CipherId != SmbCipher.None) caps |= CapEncryption;
        // MS-SMB2 3.3.5.4: SMB2_GLOBAL_CAP_MULTI_CHANNEL for 3.x when IsMultiChannelCapable (session binding, 3.3.5.5).
        if (SmbDialect.Is3x(dialect) && s.MultiChannel) caps |= CapMultiChannel;
        // Persistent handles on every 3.x connection; whether a share allows them is its CA capability (ARCHITECTURE §4).
        if (SmbDialect.Is3x(dialect)) caps |= CapPersistentHandles;
        var large = (caps & CapLargeMtu) != 0;
        c.ServerCapabilities = caps;
        c.ServerSecurityMode = securityMode;

        o.U16(65);
        o.U16(securityMode);
        o.U16(dialect);
        var ctxCountAt = o.Length;
        o.U16(0);
        o.Guid(s.ServerGuid);
        o.U32(caps);
        o.U32(large ? s.MaxTransactSize : 65536);
        o.U32(large ? s.MaxReadSize : 65536);
        o.U32(large ? s.MaxWriteSize : 65536);
        o.I64(c.Server.Time.GetUtcNow().ToFileTime());
        o.I64(0);
        var secOffAt = o.Length;
        o.U16(0);
        o.U16(0);
        var ctxOffAt = o.Length;
        o.U32(0);
        var token = Spnego.BuildNegotiateResponseToken();
        o.PutU16(secOffAt, (ushort)(o.Length - start));
        o.PutU16(secOffAt + 2, (ushort)token.Length);
        o.Bytes(token);
        if (contexts is null) return;

        ushort count = 0;
        o.Align(8);
        o.PutU32(ctxOffAt, (uint)(o.Length - start));
        // Preauth integrity: SHA-512 with a fresh 32-byte salt.
        WriteContext(o, PreauthIntegrityCapabilities, w =>
        {
            w.U16(1);
            w.U16(32);
            w.U16(HashSha512);
            RandomNumberGenerator.Fill(w.Reserve(32));
        });
        count++;
        if (contexts.EncryptionContextSeen)
        {
            // CipherCount 1 and the chosen cipher, or cipher 0 when there is none in common (MS-SMB2 3.3.5.4).
            o.Align(8);
            var cipher = (ushort)c.CipherId;
            WriteContext(o, EncryptionCapabilities, w => { w.U16(1); w.U16(cipher); });
            count++;
        }
        if (contexts.SigningContextSeen && contexts.Signing is { } alg)
        {
            o.Align(8);
            WriteContext(o, SigningCapabilities, w => { w.U16(1); w.U16((ushort)alg); });
            count++;
        }
        o.PutU16(ctxCountAt, count);
    }

    private static void WriteContext(ResponseBuffer o, ushort type, Action<ResponseBuffer> body)
    {
        o.U16(type);
        var lenAt = o.Length;
        o.U16(0);
        o.U32(0);
        var start = o.Length;
        body(o);
        o.PutU16(lenAt, (ushort)(o.Length - start));
    }
}
