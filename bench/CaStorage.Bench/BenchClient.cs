using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using CaStorage.Smb.Security;

namespace CaStorage.Bench;

/// <summary>
/// A minimal synchronous SMB 3.0.2 client over one TCP connection: NEGOTIATE, NTLMv2 SESSION_SETUP (raw NTLMSSP
/// tokens, no signing, no encryption), TREE_CONNECT, then CREATE / WRITE / CLOSE / LOCK built into reusable buffers so
/// the client costs little per request. Requests may be pipelined: <see cref="SendLock"/> and friends only send;
/// <see cref="Receive"/> returns the next response (interim STATUS_PENDING answers are skipped).
/// </summary>
internal sealed class BenchClient : IDisposable
{
    public const uint StatusSuccess = 0;
    public const uint StatusPending = 0x00000103;
    public const uint StatusMoreProcessing = 0xC0000016;
    private const int HeaderSize = 64;

    private readonly Socket _socket;
    private readonly byte[] _tx = new byte[8192];
    private byte[] _rx = new byte[256 * 1024];
    private int _rxStart;
    private int _rxEnd;
    private readonly uint _capabilities;
    private ulong _messageId;
    private ulong _sessionId;
    private uint _treeId;

    private BenchClient(Socket socket, uint capabilities)
    {
        _socket = socket;
        _capabilities = capabilities;
    }

    /// <summary>SMB2_GLOBAL_CAP_PERSISTENT_HANDLES, for the NEGOTIATE request's Capabilities.</summary>
    public const uint CapPersistentHandles = 0x10;

    public static BenchClient Connect(string host, int port, string user, string password, string share, uint capabilities = 0)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        s.ReceiveTimeout = 30_000;
        s.SendTimeout = 30_000;
        s.Connect(host, port);
        var c = new BenchClient(s, capabilities);
        try
        {
            c.Negotiate();
            c.SessionSetup(user, password);
            c.TreeConnect($@"\\{host}\{share}");
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    public void Dispose() => _socket.Dispose();

    // ---- framing ----

    /// <summary>Writes the NBSS prefix and SMB2 header for <paramref name="command"/> into _tx; returns the body offset.</summary>
    private int Header(ushort command, out ulong messageId)
    {
        var h = _tx.AsSpan(4, HeaderSize);
        h.Clear();
        h[0] = 0xFE;
        "SMB"u8.CopyTo(h[1..]);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 1);      // CreditCharge
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], command);
        BinaryPrimitives.WriteUInt16LittleEndian(h[14..], 64);    // credits requested
        messageId = _messageId++;
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], messageId);
        BinaryPrimitives.WriteUInt32LittleEndian(h[36..], _treeId);
        BinaryPrimitives.WriteUInt64LittleEndian(h[40..], _sessionId);
        return 4 + HeaderSize;
    }

    private void Send(int length)
    {
        var n = length - 4;
        _tx[0] = 0;
        _tx[1] = (byte)(n >> 16);
        _tx[2] = (byte)(n >> 8);
        _tx[3] = (byte)n;
        var sent = 0;
        while (sent < length) sent += _socket.Send(_tx, sent, length - sent, SocketFlags.None);
    }

    /// <summary>A received message (a view of the receive buffer, valid until the next receive).</summary>
    public readonly ref struct Message(ReadOnlySpan<byte> bytes)
    {
        public ReadOnlySpan<byte> Bytes { get; } = bytes;
        public uint Status => BinaryPrimitives.ReadUInt32LittleEndian(Bytes[8..]);
        public ushort Command => BinaryPrimitives.ReadUInt16LittleEndian(Bytes[12..]);
        public uint Flags => BinaryPrimitives.ReadUInt32LittleEndian(Bytes[16..]);
        public ulong MessageId => BinaryPrimitives.ReadUInt64LittleEndian(Bytes[24..]);
        public ulong SessionId => BinaryPrimitives.ReadUInt64LittleEndian(Bytes[40..]);
        public uint TreeId => BinaryPrimitives.ReadUInt32LittleEndian(Bytes[36..]);
        public ReadOnlySpan<byte> Body => Bytes[HeaderSize..];
    }

    /// <summary>Interim STATUS_PENDING answers seen (skipped by <see cref="Receive"/>).</summary>
    public long Interims { get; private set; }

    /// <summary>The next final response (interim STATUS_PENDING skipped); throws on a closed connection.</summary>
    public Message Receive()
    {
        while (true)
        {
            var m = ReceiveFrame();
            if (m.Status == StatusPending && (m.Flags & 0x2) != 0)
            {
                Interims++; // an interim answer: the final one follows
                continue;
            }
            return m;
        }
    }

    private Message ReceiveFrame()
    {
        Fill(4);
        var len = (_rx[_rxStart + 1] << 16) | (_rx[_rxStart + 2] << 8) | _rx[_rxStart + 3];
        Fill(4 + len);
        var m = new Message(_rx.AsSpan(_rxStart + 4, len));
        _rxStart += 4 + len;
        if (len < HeaderSize || m.Bytes[0] != 0xFE) throw new InvalidDataException($"unexpected frame (length {len}, first byte 0x{(len > 0 ? m.Bytes[0] : 0):x2})");
        return m;
    }

    private void Fill(int need)
    {
        if (_rxEnd - _rxStart >= need) return;
        if (_rxStart > 0)
        {
            Buffer.BlockCopy(_rx, _rxStart, _rx, 0, _rxEnd - _rxStart);
            _rxEnd -= _rxStart;
            _rxStart = 0;
        }
        if (need > _rx.Length) Array.Resize(ref _rx, need);
        while (_rxEnd < need)
        {
            var n = _socket.Receive(_rx, _rxEnd, _rx.Length - _rxEnd, SocketFlags.None);
            if (n == 0) throw new IOException("server closed the connection");
            _rxEnd += n;
        }
    }

    private Message Request(int length, string what)
    {
        Send(length);
        var m = Receive();
        if (m.Status != StatusSuccess && m.Status != StatusMoreProcessing)
            throw new InvalidOperationException($"{what} failed: 0x{m.Status:X8}");
        return m;
    }

    // ---- setup ----

    private void Negotiate()
    {
        var o = Header(0x0000, out _);
        var b = _tx.AsSpan(o, 38);
        b.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, 36);
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], 1);   // one dialect
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], 1);   // signing enabled (not required)
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], _capabilities);
        Guid.NewGuid().TryWriteBytes(b[12..]);
        BinaryPrimitives.WriteUInt16LittleEndian(b[36..], 0x0302);
        var m = Request(o + 38, "NEGOTIATE");
        var dialect = BinaryPrimitives.ReadUInt16LittleEndian(m.Body[4..]);
        if (dialect != 0x0302) throw new InvalidOperationException($"server chose dialect 0x{dialect:x4}");
    }

    private void SessionSetup(string user, string password)
    {
        var ntlm = new NtlmClient(user, password);
        var challenge = SessionSetupStep(ntlm.Negotiate(), expectMore: true);
        SessionSetupStep(ntlm.Authenticate(challenge), expectMore: false);
    }

    private byte[] SessionSetupStep(byte[] token, bool expectMore)
    {
        var o = Header(0x0001, out _);
        var b = _tx.AsSpan(o, 24 + token.Length);
        b.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, 25);
        b[3] = 1; // signing enabled
        BinaryPrimitives.WriteUInt16LittleEndian(b[12..], HeaderSize + 24);
        BinaryPrimitives.WriteUInt16LittleEndian(b[14..], (ushort)token.Length);
        token.CopyTo(b[24..]);
        var m = Request(o + 24 + token.Length, "SESSION_SETUP");
        if (expectMore != (m.Status == StatusMoreProcessing))
            throw new InvalidOperationException($"SESSION_SETUP: unexpected status 0x{m.Status:X8}");
        _sessionId = m.SessionId;
        if (!expectMore && (BinaryPrimitives.ReadUInt16LittleEndian(m.Body[2..]) & 0x3) != 0)
            throw new InvalidOperationException("SESSION_SETUP: logged on as guest/anonymous (wrong password?)");
        var off = BinaryPrimitives.ReadUInt16LittleEndian(m.Body[4..]);
        var len = BinaryPrimitives.ReadUInt16LittleEndian(m.Body[6..]);
        return m.Bytes.Slice(off, len).ToArray();
    }

    private void TreeConnect(string path)
    {
        var p = Encoding.Unicode.GetBytes(path);
        var o = Header(0x0003, out _);
        var b = _tx.AsSpan(o, 8 + p.Length);
        b.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, 9);
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], HeaderSize + 8);
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], (ushort)p.Length);
        p.CopyTo(b[8..]);
        var m = Request(o + 8 + p.Length, "TREE_CONNECT");
        _treeId = m.TreeId;
    }

    // ---- file commands ----

    public ulong SendCreate(string name) => SendCreate(name, disposition: 3, oplock: 0, durable: null);

    /// <summary>Creates directory <paramref name="name"/> (FILE_CREATE) and closes it.</summary>
    public void CreateDirectory(string name)
    {
        SendCreate(name, disposition: 2, oplock: 0, durable: null, options: 0x1); // FILE_DIRECTORY_FILE
        var m = Receive();
        if (m.Status != StatusSuccess) throw new InvalidOperationException($"CREATE directory {name} failed: 0x{m.Status:X8}");
        Close(m.Body.Slice(64, 16).ToArray());
    }

    /// <summary>The durability a CREATE asks for with a DH2Q context.</summary>
    public enum Durability { None, Durable, Persistent }

    /// <summary>
    /// CREATE of <paramref name="name"/> (read/write, share all, CreateOptions <paramref name="options"/>, by default
    /// FILE_NON_DIRECTORY_FILE) with CreateDisposition
    /// <paramref name="disposition"/> (2 = FILE_CREATE, 3 = FILE_OPEN_IF) and RequestedOplockLevel
    /// <paramref name="oplock"/>; with <paramref name="durable"/>, a DH2Q context (MS-SMB2 2.2.13.2.11) with a new
    /// CreateGuid, timeout 0 (the server's default) and flags 0x2 (persistent) or 0.
    /// </summary>
    public ulong SendCreate(string name, uint disposition, byte oplock, Durability? durable, uint options = 0x40)
    {
        var n = Encoding.Unicode.GetBytes(name);
        var o = Header(0x0005, out var id);
        var ctxOffset = durable is null ? 0 : (HeaderSize + 56 + n.Length + 7) & ~7; // from the SMB2 header, 8-aligned
        var length = durable is null ? 56 + n.Length : ctxOffset - HeaderSize + Dh2qLength;
        var b = _tx.AsSpan(o, length);
        b.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, 57);
        b[3] = oplock;
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 2);            // impersonation
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], 0xC0000000);  // GENERIC_READ | GENERIC_WRITE
        BinaryPrimitives.WriteUInt32LittleEndian(b[28..], 0x80);        // FILE_ATTRIBUTE_NORMAL
        BinaryPrimitives.WriteUInt32LittleEndian(b[32..], 7);           // share read/write/delete
        BinaryPrimitives.WriteUInt32LittleEndian(b[36..], disposition);
        BinaryPrimitives.WriteUInt32LittleEndian(b[40..], options);
        BinaryPrimitives.WriteUInt16LittleEndian(b[44..], HeaderSize + 56);
        BinaryPrimitives.WriteUInt16LittleEndian(b[46..], (ushort)n.Length);
        n.CopyTo(b[56..]);
        if (durable is { } d)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b[48..], (uint)ctxOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(b[52..], Dh2qLength);
            var x = b[(ctxOffset - HeaderSize)..];
            BinaryPrimitives.WriteUInt16LittleEndian(x[4..], 16);       // NameOffset
            BinaryPrimitives.WriteUInt16LittleEndian(x[6..], 4);        // NameLength
            BinaryPrimitives.WriteUInt16LittleEndian(x[10..], 24);      // DataOffset
            BinaryPrimitives.WriteUInt32LittleEndian(x[12..], 32);      // DataLength
            "DH2Q"u8.CopyTo(x[16..]);
            BinaryPrimitives.WriteUInt32LittleEndian(x[28..], d == Durability.Persistent ? DhandleFlagPersistent : 0);
            Guid.NewGuid().TryWriteBytes(x[40..]);                      // CreateGuid
        }
        Send(o + length);
        return id;
    }

    private const int Dh2qLength = 56; // context header 16 + name 4 + pad 4 + data 32
    private const uint DhandleFlagPersistent = 0x2;

    /// <summary>
    /// What a CREATE response granted: its oplock level, and whether a DH2Q response context came back and with the
    /// persistent flag (MS-SMB2 2.2.14.2.12).
    /// </summary>
    public static (byte Oplock, bool Durable, bool Persistent) GrantOf(Message createResponse)
    {
        var body = createResponse.Body;
        var oplock = body[2];
        var off = (int)BinaryPrimitives.ReadUInt32LittleEndian(body[80..]);
        var len = (int)BinaryPrimitives.ReadUInt32LittleEndian(body[84..]);
        if (off == 0 || len == 0) return (oplock, false, false);
        var all = createResponse.Bytes;
        var p = off;
        while (p + 16 <= all.Length)
        {
            var next = (int)BinaryPrimitives.ReadUInt32LittleEndian(all[p..]);
            var nameOff = BinaryPrimitives.ReadUInt16LittleEndian(all[(p + 4)..]);
            var nameLen = BinaryPrimitives.ReadUInt16LittleEndian(all[(p + 6)..]);
            var dataOff = BinaryPrimitives.ReadUInt16LittleEndian(all[(p + 10)..]);
            var dataLen = (int)BinaryPrimitives.ReadUInt32LittleEndian(all[(p + 12)..]);
            if (nameLen == 4 && all.Slice(p + nameOff, 4).SequenceEqual("DH2Q"u8) && dataLen >= 8)
            {
                var flags = BinaryPrimitives.ReadUInt32LittleEndian(all[(p + dataOff + 4)..]);
                return (oplock, true, (flags & DhandleFlagPersistent) != 0);
            }
            if (next == 0) break;
            p += next;
        }
        return (oplock, false, false);
    }

    /// <summary>WRITE of <paramref name="data"/> at <paramref name="offset"/> (flags 0: the share decides write-through).</summary>
    public ulong SendWrite(ReadOnlySpan<byte> fileId, ulong offset, ReadOnlySpan<byte> data)
    {
        var o = Header(0x0009, out var id);
        var b = _tx.AsSpan(o, 48 + data.Length);
        b[..48].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, 49);
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], HeaderSize + 48); // DataOffset
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)data.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], offset);
        fileId.CopyTo(b[16..]);
        data.CopyTo(b[48..]);
        Send(o + 48 + data.Length);
        return id;
    }

    /// <summary>CREATE (open-if, read/write, share all, no oplock) and wait: the 16-byte FileId.</summary>
    public byte[] Create(string name)
    {
        SendCreate(name);
        var m = Receive();
        if (m.Status != StatusSuccess) throw new InvalidOperationException($"CREATE {name} failed: 0x{m.Status:X8}");
        return m.Body.Slice(64, 16).ToArray();
    }

    public static ReadOnlySpan<byte> FileIdOf(Message createResponse) => createResponse.Body.Slice(64, 16);

    public ulong SendClose(ReadOnlySpan<byte> fileId)
    {
        var o = Header(0x0006, out var id);
        var b = _tx.AsSpan(o, 24);
        b.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(b, 24);
        fileId.CopyTo(b[8..]);
        Send(o + 24);
        return id;
    }

    public void Close(ReadOnlySpan<byte> fileId)
    {
        SendClose(fileId);
        var m = Receive();
        if (m.Status != StatusSuccess) throw new InvalidOperationException($"CLOSE failed: 0x{m.Status:X8}");
    }

    public const uint LockExclusive = 0x02;
    public const uint LockUnlock = 0x04;
    public const uint LockFailImmediately = 0x10;

    public ulong SendLock(ReadOnlySpan<byte> fileId, ulong offset, ulong length, uint flags)
    {
        var o = Header(0x000A, out var id);
        var b = _tx.AsSpan(o, 48);
        BinaryPrimitives.WriteUInt16LittleEndian(b, 48);
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], 1);    // LockCount
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 0);    // LockSequence
        fileId.CopyTo(b[8..]);
        BinaryPrimitives.WriteUInt64LittleEndian(b[24..], offset);
        BinaryPrimitives.WriteUInt64LittleEndian(b[32..], length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[40..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b[44..], 0);
        Send(o + 48);
        return id;
    }
}

/// <summary>NTLMv2 initiator (MS-NLMP 3.1.5, 3.3.2): no key exchange, no MIC; the session is not signed.</summary>
internal sealed class NtlmClient(string user, string password)
{
    private const uint Flags =
        0x00000001 /* UNICODE */ | 0x00000004 /* REQUEST_TARGET */ | 0x00000200 /* NTLM */
        | 0x00008000 /* ALWAYS_SIGN */ | 0x00080000 /* EXTENDED_SESSIONSECURITY */
        | 0x02000000 /* VERSION */ | 0x20000000 /* 128 */ | 0x80000000 /* 56 */;

    public byte[] Negotiate()
    {
        var m = new byte[40];
        "NTLMSSP\0"u8.CopyTo(m);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(20), 40);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(28), 40);
        m[32] = 10;
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(34), 19041);
        m[39] = 0x0F;
        return m;
    }

    public byte[] Authenticate(byte[] challenge)
    {
        if (challenge.Length < 48 || !challenge.AsSpan(0, 8).SequenceEqual("NTLMSSP\0"u8))
            throw new InvalidDataException("not an NTLM CHALLENGE message");
        var serverFlags = BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(20));
        var serverChallenge = challenge.AsSpan(24, 8).ToArray();
        int tiLen = BinaryPrimitives.ReadUInt16LittleEndian(challenge.AsSpan(40));
        var tiOff = (int)BinaryPrimitives.ReadUInt32LittleEndian(challenge.AsSpan(44));
        var targetInfo = challenge.AsSpan(tiOff, tiLen).ToArray();

        var ntHash = Md4.Hash(Encoding.Unicode.GetBytes(password));
        var responseKey = HMACMD5.HashData(ntHash, Encoding.Unicode.GetBytes(user.ToUpperInvariant()));
        byte[]? timestamp = null;
        for (var p = 0; p + 4 <= targetInfo.Length;)
        {
            var id = BinaryPrimitives.ReadUInt16LittleEndian(targetInfo.AsSpan(p));
            var len = BinaryPrimitives.ReadUInt16LittleEndian(targetInfo.AsSpan(p + 2));
            if (id == 0) break;
            if (id == 7) timestamp = targetInfo.AsSpan(p + 4, len).ToArray();
            p += 4 + len;
        }
        byte[] blob =
        [
            1, 1, 0, 0, 0, 0, 0, 0,
            .. timestamp ?? BitConverter.GetBytes(DateTime.UtcNow.ToFileTimeUtc()),
            .. RandomNumberGenerator.GetBytes(8),
            0, 0, 0, 0,
            .. targetInfo,
            0, 0, 0, 0,
        ];
        var proof = HMACMD5.HashData(responseKey, (byte[])[.. serverChallenge, .. blob]);
        byte[] nt = [.. proof, .. blob];
        var lm = new byte[24];
        var userBytes = Encoding.Unicode.GetBytes(user);
        var workstation = Encoding.Unicode.GetBytes("BENCH");

        const int header = 72;
        var m = new byte[header + lm.Length + nt.Length + userBytes.Length + workstation.Length];
        "NTLMSSP\0"u8.CopyTo(m);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), 3);
        var pos = header;
        pos = Put(m, 12, lm, pos);
        pos = Put(m, 20, nt, pos);
        pos = Put(m, 28, [], pos);          // domain: empty
        pos = Put(m, 36, userBytes, pos);
        pos = Put(m, 44, workstation, pos);
        Put(m, 52, [], pos);                // no encrypted random session key
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(60), Flags & serverFlags);
        m[64] = 10;
        m[71] = 0x0F;
        return m;
    }

    private static int Put(byte[] m, int field, byte[] value, int pos)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(field), (ushort)value.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(field + 2), (ushort)value.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(field + 4), (uint)pos);
        value.CopyTo(m, pos);
        return pos + value.Length;
    }
}
