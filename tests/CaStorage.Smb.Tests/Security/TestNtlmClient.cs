using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Tests.Security;

/// <summary>
/// A minimal NTLMv2 client for tests, written straight from MS-NLMP 3.1.5 / 3.3.2 with BCL
/// HMACMD5/MD5 (independent of the server's NtlmCrypto helpers except RC4 and MD4).
/// </summary>
internal sealed class TestNtlmClient
{
    public const NtlmNegotiateFlags DefaultFlags =
        NtlmNegotiateFlags.Unicode | NtlmNegotiateFlags.RequestTarget | NtlmNegotiateFlags.Sign
        | NtlmNegotiateFlags.Seal | NtlmNegotiateFlags.Ntlm | NtlmNegotiateFlags.AlwaysSign
        | NtlmNegotiateFlags.ExtendedSessionSecurity | NtlmNegotiateFlags.Version
        | NtlmNegotiateFlags.Negotiate128 | NtlmNegotiateFlags.KeyExchange | NtlmNegotiateFlags.Negotiate56;

    private readonly string _user;
    private readonly string _domain;
    private readonly string _password;
    private byte[]? _negotiate;
    private byte[]? _clientSignKey;
    private byte[]? _serverSignKey;
    private Rc4? _clientSeal;
    private Rc4? _serverSeal;
    private uint _sendSeq;
    private uint _receiveSeq;

    public TestNtlmClient(string user, string domain, string password)
    {
        _user = user;
        _domain = domain;
        _password = password;
    }

    public NtlmNegotiateFlags Flags { get; init; } = DefaultFlags;
    public bool IncludeMic { get; init; } = true;
    public bool Anonymous { get; init; }
    /// <summary>Send a 24-byte NTLMv1-shaped NT response instead of NTLMv2.</summary>
    public bool SendNtlmV1Response { get; init; }
    /// <summary>Compute NTOWFv2 with this domain instead of the one placed in the message.</summary>
    public string? DomainForHash { get; init; }
    public string Workstation { get; init; } = "WORKSTATION1";

    public NtlmNegotiateFlags NegotiatedFlags { get; private set; }
    public byte[]? ExportedSessionKey { get; private set; }

    public byte[] Negotiate()
    {
        var m = new byte[40];
        NtlmWire.Signature.CopyTo(m);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), (uint)Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(20), 40);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(28), 40);
        m[32] = 10;
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(34), 19041);
        m[39] = 0x0F;
        _negotiate = m;
        return m;
    }

    public byte[] Authenticate(byte[] challenge)
    {
        Assert.True(challenge.Length >= 56);
        Assert.Equal("NTLMSSP\0", Encoding.ASCII.GetString(challenge, 0, 8));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(8)));
        var serverFlags = (NtlmNegotiateFlags)BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(20));
        var serverChallenge = challenge.AsSpan(24, 8).ToArray();
        int tiLen = BinaryPrimitives.ReadUInt16LittleEndian(challenge.AsSpan(40));
        int tiOff = (int)BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(44));
        var targetInfo = challenge.AsSpan(tiOff, tiLen).ToArray();
        NegotiatedFlags = Flags & serverFlags;

        byte[] lm, nt, encryptedKey = [];
        byte[]? exported = null;
        if (Anonymous)
        {
            lm = [0];
            nt = [];
        }
        else
        {
            var ntHash = Md4.Hash(Encoding.Unicode.GetBytes(_password));
            var responseKey = HMACMD5.HashData(ntHash, Encoding.Unicode.GetBytes(_user.ToUpperInvariant() + (DomainForHash ?? _domain)));
            if (SendNtlmV1Response)
            {
                lm = new byte[24];
                nt = RandomNumberGenerator.GetBytes(24);
            }
            else
            {
                var blob = BuildClientBlob(targetInfo);
                var proof = HMACMD5.HashData(responseKey, Concat(serverChallenge, blob));
                nt = [.. proof, .. blob];
                lm = new byte[24]; // Z(24) because the server sent MsvAvTimestamp (MS-NLMP 3.1.5.1.2)
                var sessionBaseKey = HMACMD5.HashData(responseKey, proof);
                if ((NegotiatedFlags & NtlmNegotiateFlags.KeyExchange) != 0)
                {
                    exported = RandomNumberGenerator.GetBytes(16);
                    encryptedKey = Rc4.Apply(sessionBaseKey, exported);
                }
                else
                {
                    exported = sessionBaseKey;
                }
            }
        }

        var domain = Encoding.Unicode.GetBytes(_domain);
        var user = Encoding.Unicode.GetBytes(_user);
        var workstation = Encoding.Unicode.GetBytes(Workstation);

        const int header = 88;
        var m = new byte[header + lm.Length + nt.Length + domain.Length + user.Length + workstation.Length + encryptedKey.Length];
        NtlmWire.Signature.CopyTo(m);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), 3);
        int pos = header;
        pos = Put(m, 12, lm, pos);
        pos = Put(m, 20, nt, pos);
        pos = Put(m, 28, domain, pos);
        pos = Put(m, 36, user, pos);
        pos = Put(m, 44, workstation, pos);
        Put(m, 52, encryptedKey, pos);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(60), (uint)(Anonymous ? NegotiatedFlags | NtlmNegotiateFlags.Anonymous : NegotiatedFlags));
        m[64] = 10;
        m[71] = 0x0F;

        if (IncludeMic && exported is not null)
        {
            var mic = HMACMD5.HashData(exported, Concat(_negotiate!, challenge, m));
            mic.CopyTo(m, 72);
        }

        ExportedSessionKey = exported;
        if (exported is not null && (NegotiatedFlags & NtlmNegotiateFlags.ExtendedSessionSecurity) != 0)
        {
            _clientSignKey = MD5.HashData([.. exported, .. "session key to client-to-server signing key magic constant\0"u8]);
            _serverSignKey = MD5.HashData([.. exported, .. "session key to server-to-client signing key magic constant\0"u8]);
            if ((NegotiatedFlags & NtlmNegotiateFlags.KeyExchange) != 0)
            {
                _clientSeal = new Rc4(MD5.HashData([.. exported, .. "session key to client-to-server sealing key magic constant\0"u8]));
                _serverSeal = new Rc4(MD5.HashData([.. exported, .. "session key to server-to-client sealing key magic constant\0"u8]));
            }
        }

        return m;
    }

    /// <summary>Client-to-server GSS_GetMIC.</summary>
    public byte[] MakeSignature(ReadOnlySpan<byte> data) => Sign(_clientSignKey!, _clientSeal, _sendSeq++, data);

    /// <summary>Verifies a server-to-client GSS_GetMIC.</summary>
    public bool VerifySignature(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        signature.SequenceEqual(Sign(_serverSignKey!, _serverSeal, _receiveSeq++, data));

    private byte[] BuildClientBlob(byte[] serverTargetInfo)
    {
        // Copy the server's AV pairs (minus EOL), add MsvAvFlags when sending a MIC, end with EOL.
        var pairs = new List<byte>();
        byte[]? timestamp = null;
        int p = 0;
        while (p + 4 <= serverTargetInfo.Length)
        {
            ushort id = BinaryPrimitives.ReadUInt16LittleEndian(serverTargetInfo.AsSpan(p));
            ushort len = BinaryPrimitives.ReadUInt16LittleEndian(serverTargetInfo.AsSpan(p + 2));
            if (id == 0)
            {
                break;
            }

            if (id == 7)
            {
                timestamp = serverTargetInfo.AsSpan(p + 4, len).ToArray();
            }

            pairs.AddRange(serverTargetInfo.AsSpan(p, 4 + len).ToArray());
            p += 4 + len;
        }

        if (IncludeMic)
        {
            pairs.AddRange(new byte[] { 6, 0, 4, 0, 2, 0, 0, 0 });
        }

        pairs.AddRange(new byte[4]);

        var blob = new List<byte> { 1, 1, 0, 0, 0, 0, 0, 0 };
        blob.AddRange(timestamp ?? BitConverter.GetBytes(DateTime.UtcNow.ToFileTimeUtc()));
        blob.AddRange(RandomNumberGenerator.GetBytes(8));
        blob.AddRange(new byte[4]);
        blob.AddRange(pairs);
        blob.AddRange(new byte[4]);
        return [.. blob];
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static int Put(byte[] m, int field, byte[] value, int pos)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(field), (ushort)value.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(field + 2), (ushort)value.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(field + 4), (uint)pos);
        value.CopyTo(m, pos);
        return pos + value.Length;
    }

    private static byte[] Sign(byte[] key, Rc4? seal, uint seq, ReadOnlySpan<byte> data)
    {
        var seqBytes = BitConverter.GetBytes(seq);
        var mac = HMACMD5.HashData(key, Concat(seqBytes, data.ToArray()));
        var checksum = mac.AsSpan(0, 8).ToArray();
        seal?.Transform(checksum, checksum);
        return [1, 0, 0, 0, .. checksum, .. seqBytes];
    }
}

/// <summary>An in-memory account table for tests.</summary>
internal sealed class TestUserStore : INtlmUserStore
{
    private readonly Dictionary<string, byte[]> _hashes = new(StringComparer.OrdinalIgnoreCase);

    public TestUserStore Add(string user, string password)
    {
        _hashes[user] = NtHash.FromPassword(password);
        return this;
    }

    public byte[]? GetNtHash(string userName) => _hashes.GetValueOrDefault(userName);
}

/// <summary>A clock stopped at a fixed instant.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
