using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Security;
using CaStorage.Smb.Tests.Security;

namespace CaStorage.Smb.Tests.Server;

/// <summary>A minimal SMB2 client over a pipe, for transcript-style protocol tests and the fuzz corpus.</summary>
internal sealed class TestSmbClient(IDuplexPipe pipe)
{
    private ulong _messageId;
    /// <summary>The client's ends of the connection (a test may hang up: Pipe.Output.Complete).</summary>
    public IDuplexPipe Pipe => pipe;
    public ulong SessionId { get; set; }
    public uint TreeId { get; set; }
    /// <summary>Every request frame sent (before encryption), in order: the fuzz corpus.</summary>
    public List<byte[]> Sent { get; } = [];
    /// <summary>SMB 3.x encryption: when set, requests go out in transforms (see <see cref="EncryptRequests"/>) and transforms received are decrypted.</summary>
    public SmbTransformCodec? Encryption { get; set; }
    public bool EncryptRequests { get; set; } = true;
    /// <summary>3.1.1: Connection.PreauthIntegrityHashValue (after NEGOTIATE).</summary>
    public byte[] ConnectionPreauthHash { get; private set; } = new byte[64];
    /// <summary>3.1.1: Session.PreauthIntegrityHashValue of the last successful SESSION_SETUP (the KDF context).</summary>
    public byte[] PreauthHash { get; private set; } = new byte[64];
    /// <summary>The NTLM exported session key of the last successful SESSION_SETUP.</summary>
    public byte[]? SessionKey { get; private set; }
    /// <summary>Whether the last response arrived in a transform.</summary>
    public bool LastResponseEncrypted { get; private set; }
    /// <summary>When set, every request is signed (SMB2_FLAGS_SIGNED) with this key and <see cref="SigningAlgorithm"/>.</summary>
    public byte[]? SigningKey { get; set; }
    public SigningAlgorithm SigningAlgorithm { get; set; } = SigningAlgorithm.AesCmac;
    /// <summary>Channel.SigningKey of the last successful binding (<see cref="BindAsync"/>).</summary>
    public byte[]? ChannelSigningKey { get; private set; }

    public sealed record Response(NtStatus Status, SmbCommand Command, ulong MessageId, ulong SessionId, uint TreeId, byte[] Message)
    {
        public ReadOnlySpan<byte> Body => Message.AsSpan(SmbHeader.Size);
        public ushort Credits => BinaryPrimitives.ReadUInt16LittleEndian(Message.AsSpan(14));
    }

    public byte[] Build(SmbCommand cmd, ReadOnlySpan<byte> body, ushort creditCharge = 1)
    {
        var msg = new byte[SmbHeader.Size + body.Length];
        var h = new SmbHeader
        {
            Command = cmd, CreditCharge = creditCharge, Credits = 64, MessageId = _messageId, SessionId = SessionId, TreeId = TreeId,
        };
        _messageId += Math.Max(creditCharge, (ushort)1);
        if (SigningKey is not null) h.Flags |= SmbFlags.Signed;
        h.Write(msg, NtStatus.Success);
        body.CopyTo(msg.AsSpan(SmbHeader.Size));
        if (SigningKey is { } key) SmbSigning.Sign(SigningAlgorithm, key, msg);
        return msg;
    }

    public async Task SendFrameAsync(byte[] message)
    {
        Sent.Add(message);
        if (Encryption is { } codec && EncryptRequests)
        {
            var transform = new byte[SmbTransformCodec.TransformedLength(message.Length)];
            codec.Encrypt(message, transform);
            message = transform;
        }
        var frame = new byte[message.Length + 4];
        frame[1] = (byte)(message.Length >> 16);
        frame[2] = (byte)(message.Length >> 8);
        frame[3] = (byte)message.Length;
        message.CopyTo(frame, 4);
        await pipe.Output.WriteAsync(frame);
    }

    /// <summary>Reads one frame; null when the server closed the connection.</summary>
    public async Task<byte[]?> ReceiveFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var r = await pipe.Input.ReadAsync(cts.Token);
            var buf = r.Buffer;
            if (buf.Length >= 4)
            {
                var hdr = buf.Slice(0, 4).ToArray();
                var len = (hdr[1] << 16) | (hdr[2] << 8) | hdr[3];
                if (buf.Length >= 4 + len)
                {
                    var frame = buf.Slice(4, len).ToArray();
                    pipe.Input.AdvanceTo(buf.GetPosition(4 + len));
                    return frame;
                }
            }
            if (r.IsCompleted) { pipe.Input.AdvanceTo(buf.Start, buf.End); return null; }
            pipe.Input.AdvanceTo(buf.Start, buf.End);
        }
    }

    public async Task<Response> RequestAsync(SmbCommand cmd, byte[] body, ushort creditCharge = 1)
    {
        var request = Build(cmd, body, creditCharge);
        await SendFrameAsync(request);
        var f = await ReceiveMessageAsync() ?? throw new InvalidOperationException("connection closed");
        return Parse(f);
    }

    /// <summary>Receives one frame and, when it is a transform, decrypts it; null when the server closed the connection.</summary>
    public async Task<byte[]?> ReceiveMessageAsync()
    {
        var f = await ReceiveFrameAsync();
        LastResponseEncrypted = f is not null && SmbTransformHeader.IsTransform(f);
        if (f is null || !LastResponseEncrypted) return f;
        var codec = Encryption ?? throw new InvalidOperationException("encrypted response without keys");
        var plain = new byte[f.Length];
        if (!codec.TryDecrypt(f, plain, out var n)) throw new InvalidOperationException("response failed decryption");
        return plain[..n];
    }

    /// <summary>Turns on encryption with this session's keys (client view: ServerIn encrypts, ServerOut decrypts).</summary>
    public void StartEncryption(ushort dialect, SmbCipher cipher)
    {
        var keys = SmbSessionKeys.Derive(dialect, SessionKey!, dialect == 0x0311 ? PreauthHash : null, cipher);
        Encryption = new SmbTransformCodec(SessionId, cipher, keys.EncryptServerIn!, keys.EncryptServerOut!);
    }

    public static Response Parse(byte[] m)
    {
        SmbHeader.TryRead(m, out var h);
        return new Response((NtStatus)h.Status, h.Command, h.MessageId, h.SessionId, h.TreeId, m);
    }

    // ---- commands ----

    public Task<Response> NegotiateAsync(params ushort[] dialects) => NegotiateAsync(dialects, capabilities: 0, ciphers: null);

    /// <summary>NEGOTIATE with client capabilities and, for 3.1.1, an SMB2_ENCRYPTION_CAPABILITIES context listing <paramref name="ciphers"/>.</summary>
    public async Task<Response> NegotiateAsync(ushort[] dialects, uint capabilities, ushort[]? ciphers)
    {
        var body = new byte[36 + dialects.Length * 2 + (dialects.Contains((ushort)0x0311) ? 8 + 48 : 0)];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 36);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), (ushort)dialects.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(8), capabilities);
        Guid.NewGuid().TryWriteBytes(body.AsSpan(12));
        for (var i = 0; i < dialects.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(36 + i * 2), dialects[i]);
        if (dialects.Contains((ushort)0x0311))
        {
            var ctxOff = (SmbHeader.Size + 36 + dialects.Length * 2 + 7) & ~7;
            Array.Resize(ref body, ctxOff - SmbHeader.Size + 8 + 38);
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(28), (uint)ctxOff);
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(32), 1);
            var c = body.AsSpan(ctxOff - SmbHeader.Size);
            BinaryPrimitives.WriteUInt16LittleEndian(c, 1);       // preauth integrity
            BinaryPrimitives.WriteUInt16LittleEndian(c[2..], 38);
            BinaryPrimitives.WriteUInt16LittleEndian(c[8..], 1);  // one algorithm
            BinaryPrimitives.WriteUInt16LittleEndian(c[10..], 32); // salt length
            BinaryPrimitives.WriteUInt16LittleEndian(c[12..], 1);  // SHA-512
            if (ciphers is { Length: > 0 })
            {
                var at = (body.Length + 7) & ~7;
                Array.Resize(ref body, at + 8 + 2 + ciphers.Length * 2);
                BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(32), 2);
                var e = body.AsSpan(at);
                BinaryPrimitives.WriteUInt16LittleEndian(e, 2);      // encryption capabilities
                BinaryPrimitives.WriteUInt16LittleEndian(e[2..], (ushort)(2 + ciphers.Length * 2));
                BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)ciphers.Length);
                for (var i = 0; i < ciphers.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(e[(10 + i * 2)..], ciphers[i]);
            }
        }
        var request = Build(SmbCommand.Negotiate, body);
        await SendFrameAsync(request);
        var response = await ReceiveMessageAsync() ?? throw new InvalidOperationException("connection closed");
        if (dialects.Contains((ushort)0x0311))
            ConnectionPreauthHash = Chain(Chain(new byte[64], request), response);
        return Parse(response);
    }

    private static byte[] Chain(byte[] hash, byte[] message)
    {
        var h = (byte[])hash.Clone();
        PreauthIntegrity.Update(h, message);
        return h;
    }

    /// <summary>NTLM (raw NTLMSSP tokens) session setup; returns the final response.</summary>
    public async Task<Response> SessionSetupAsync(string user, string password)
    {
        var ntlm = new TestNtlmClient(user, "", password);
        // Session.PreauthIntegrityHashValue starts from the connection's value (3.1.1; ignored otherwise).
        var hash = ConnectionPreauthHash;
        var req1 = Build(SmbCommand.SessionSetup, SessionSetupBody(ntlm.Negotiate()));
        await SendFrameAsync(req1);
        var m1 = await ReceiveMessageAsync() ?? throw new InvalidOperationException("connection closed");
        var r1 = Parse(m1);
        if (r1.Status != NtStatus.MoreProcessingRequired) return r1;
        hash = Chain(Chain(hash, req1), m1);
        SessionId = r1.SessionId;
        var challenge = SecurityBuffer(r1);
        var req2 = Build(SmbCommand.SessionSetup, SessionSetupBody(ntlm.Authenticate(challenge)));
        await SendFrameAsync(req2);
        var r2 = Parse(await ReceiveMessageAsync() ?? throw new InvalidOperationException("connection closed"));
        if (r2.Status == NtStatus.Success)
        {
            PreauthHash = Chain(hash, req2);
            SessionKey = ntlm.ExportedSessionKey;
        }
        return r2;
    }

    /// <summary>
    /// Multichannel binding (MS-SMB2 3.2.4.1.7, 3.2.5.3.3) of this connection to the session <see cref="SessionId"/>:
    /// NTLM with SMB2_SESSION_FLAG_BINDING, every request signed with <paramref name="sessionSigningKey"/> (the
    /// session's key: this channel has none yet); on 3.1.1 the preauth chain starts from this connection's negotiate.
    /// On success <see cref="ChannelSigningKey"/> is this channel's key, derived from this authentication's key.
    /// </summary>
    public async Task<Response> BindAsync(string user, string password, ushort dialect, byte[]? sessionSigningKey, SigningAlgorithm algorithm)
    {
        var ntlm = new TestNtlmClient(user, "", password);
        var hash = ConnectionPreauthHash;
        var saved = (SigningKey, SigningAlgorithm);
        SigningKey = sessionSigningKey;
        SigningAlgorithm = algorithm;
        try
        {
            var req1 = Build(SmbCommand.SessionSetup, SessionSetupBody(ntlm.Negotiate(), flags: 0x01));
            await SendFrameAsync(req1);
            var m1 = await ReceiveMessageAsync() ?? throw new InvalidOperationException("connection closed");
            var r1 = Parse(m1);
            if (r1.Status != NtStatus.MoreProcessingRequired) return r1;
            hash = Chain(Chain(hash, req1), m1);
            var req2 = Build(SmbCommand.SessionSetup, SessionSetupBody(ntlm.Authenticate(SecurityBuffer(r1)), flags: 0x01));
            await SendFrameAsync(req2);
            var r2 = Parse(await ReceiveMessageAsync() ?? throw new InvalidOperationException("connection closed"));
            if (r2.Status == NtStatus.Success)
                ChannelSigningKey = SmbSessionKeys.Derive(dialect, ntlm.ExportedSessionKey!, dialect == 0x0311 ? Chain(hash, req2) : null).Signing;
            return r2;
        }
        finally
        {
            (SigningKey, SigningAlgorithm) = saved;
        }
    }

    public Task<Response> LogoffAsync()
    {
        var body = new byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 4);
        return RequestAsync(SmbCommand.Logoff, body);
    }

    private static byte[] SecurityBuffer(Response r)
    {
        var off = BinaryPrimitives.ReadUInt16LittleEndian(r.Body[4..]);
        var len = BinaryPrimitives.ReadUInt16LittleEndian(r.Body[6..]);
        return r.Message.AsSpan(off, len).ToArray();
    }

    private static byte[] SessionSetupBody(byte[] token, byte flags = 0)
    {
        var body = new byte[24 + token.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 25);
        body[2] = flags;
        body[3] = 1; // signing enabled
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(12), SmbHeader.Size + 24);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(14), (ushort)token.Length);
        token.CopyTo(body, 24);
        return body;
    }

    public async Task<Response> TreeConnectAsync(string path)
    {
        var p = Encoding.Unicode.GetBytes(path);
        var body = new byte[8 + p.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 9);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), SmbHeader.Size + 8);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(6), (ushort)p.Length);
        p.CopyTo(body, 8);
        var r = await RequestAsync(SmbCommand.TreeConnect, body);
        if (r.Status == NtStatus.Success) TreeId = r.TreeId;
        return r;
    }

    public static byte[] CreateBody(string name, AccessMask access, ShareAccess share, CreateDisposition disposition, CreateOptions options)
    {
        var n = Encoding.Unicode.GetBytes(name);
        var body = new byte[56 + Math.Max(n.Length, 1)];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 57);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), 2); // impersonation
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(24), (uint)access);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(28), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(32), (uint)share);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(36), (uint)disposition);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(40), (uint)options);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(44), SmbHeader.Size + 56);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(46), (ushort)n.Length);
        n.CopyTo(body, 56);
        return body;
    }

    public async Task<(Response R, byte[] FileId)> CreateAsync(string name, AccessMask access = AccessMask.GenericRead | AccessMask.GenericWrite,
        ShareAccess share = ShareAccess.All, CreateDisposition disposition = CreateDisposition.OpenIf, CreateOptions options = CreateOptions.None)
    {
        var r = await RequestAsync(SmbCommand.Create, CreateBody(name, access, share, disposition, options));
        return (r, r.Status == NtStatus.Success ? r.Body.Slice(64, 16).ToArray() : new byte[16]);
    }

    public Task<Response> WriteAsync(byte[] fileId, long offset, byte[] data)
    {
        var body = new byte[48 + data.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 49);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), SmbHeader.Size + 48);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), (uint)data.Length);
        BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), offset);
        fileId.CopyTo(body, 16);
        data.CopyTo(body, 48);
        return RequestAsync(SmbCommand.Write, body, (ushort)Math.Max(1, (data.Length + 65535) / 65536));
    }

    public Task<Response> ReadAsync(byte[] fileId, long offset, int length) =>
        RequestAsync(SmbCommand.Read, ReadBody(fileId, offset, length), ReadCharge(length));

    /// <summary>A READ request's body (to send without awaiting the answer: <see cref="Build"/>, <see cref="SendFrameAsync"/>).</summary>
    public static byte[] ReadBody(byte[] fileId, long offset, int length)
    {
        var body = new byte[49];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 49);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), (uint)length);
        BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), offset);
        fileId.CopyTo(body, 16);
        return body;
    }

    /// <summary>The credit charge of a READ of that length (one credit per 64 KiB).</summary>
    public static ushort ReadCharge(int length) => (ushort)Math.Max(1, (length + 65535) / 65536);

    public Task<Response> CloseAsync(byte[] fileId, bool postQuery = false)
    {
        var body = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 24);
        body[2] = postQuery ? (byte)1 : (byte)0;
        fileId.CopyTo(body, 8);
        return RequestAsync(SmbCommand.Close, body);
    }

    public Task<Response> QueryDirectoryAsync(byte[] fileId, string pattern, byte infoClass = 37, byte flags = 0, uint outLen = 65536)
    {
        var p = Encoding.Unicode.GetBytes(pattern);
        var body = new byte[32 + p.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 33);
        body[2] = infoClass;
        body[3] = flags;
        fileId.CopyTo(body, 8);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(24), SmbHeader.Size + 32);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(26), (ushort)p.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(28), outLen);
        p.CopyTo(body, 32);
        return RequestAsync(SmbCommand.QueryDirectory, body);
    }

    public Task<Response> QueryInfoAsync(byte[] fileId, byte infoType, byte cls, uint outLen = 4096)
    {
        var body = new byte[41];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 41);
        body[2] = infoType;
        body[3] = cls;
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), outLen);
        fileId.CopyTo(body, 24);
        return RequestAsync(SmbCommand.QueryInfo, body);
    }

    /// <summary>FileId of the handle-less FSCTLs (and of "the previous CREATE" in a related compound).</summary>
    public static readonly byte[] NoFileId = [.. Enumerable.Repeat((byte)0xFF, 16)];

    /// <summary>An IOCTL request (MS-SMB2 2.2.31) with SMB2_0_IOCTL_IS_FSCTL and the input right after the fixed part.</summary>
    public Task<Response> IoctlAsync(byte[] fileId, uint ctlCode, byte[]? input = null, uint maxOutput = 65536)
    {
        input ??= [];
        var body = new byte[56 + Math.Max(input.Length, 1)];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 57);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), ctlCode);
        fileId.CopyTo(body, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(24), input.Length == 0 ? 0u : SmbHeader.Size + 56);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(28), (uint)input.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(44), maxOutput);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(48), 1); // SMB2_0_IOCTL_IS_FSCTL
        input.CopyTo(body, 56);
        return RequestAsync(SmbCommand.Ioctl, body);
    }

    /// <summary>The output buffer of a successful (or data-bearing) IOCTL response.</summary>
    public static byte[] IoctlOutput(Response r)
    {
        if (BinaryPrimitives.ReadUInt16LittleEndian(r.Body) != 49) return [];
        var offset = BinaryPrimitives.ReadInt32LittleEndian(r.Body[32..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(r.Body[36..]);
        return r.Message.AsSpan(offset, count).ToArray();
    }

    public Task<Response> EchoAsync()
    {
        var body = new byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 4);
        return RequestAsync(SmbCommand.Echo, body);
    }
}
