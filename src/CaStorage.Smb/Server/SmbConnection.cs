using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Security;
using CaStorage.Smb.Transport;
using Microsoft.Extensions.Logging;

namespace CaStorage.Smb.Server;

/// <summary>A failure that ends the connection (bad framing, protocol violations the spec says to disconnect on).</summary>
internal sealed class SmbConnectionErrorException(string reason) : Exception(reason);

/// <summary>
/// One client TCP connection: the read loop (Direct TCP framing, MS-SMB2 2.1), negotiate state, credits, the
/// session and open tables of this connection, and one writer that drains responses in order.
/// </summary>
internal sealed partial class SmbConnection
{
    /// <summary>Largest frame accepted: a maximal WRITE plus headers; anything larger drops the connection.</summary>
    private const int FrameSlack = 64 * 1024;

    private readonly SmbTransport _transport;
    private readonly Channel<OutFrame> _output = Channel.CreateUnbounded<OutFrame>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<ulong, SmbSession> _sessions = new();
    private readonly CancellationTokenSource _closed = new();

    /// <summary>A connection over an in-memory pipe pair (tests).</summary>
    public SmbConnection(string id, IDuplexPipe transport, EndPoint? local, EndPoint? remote, SmbServerContext server)
        : this(id, new PipeSmbTransport(transport), local, remote, server)
    {
    }

    internal SmbConnection(string id, SmbTransport transport, EndPoint? local, EndPoint? remote, SmbServerContext server)
    {
        Id = id;
        _transport = transport;
        LocalEndPoint = local;
        RemoteEndPoint = remote;
        Server = server;
        _servedUnder = server.OwnerPrefix;
        Owner = _servedUnder + id;
        Log = server.LoggerFactory.CreateLogger("CaStorage.Smb.Connection");
        // Twice the maximum window, so ids inside any window never alias in the ring.
        _seqBits = (ulong)server.Settings.MaxCredits * 2;
        _seqBitmap = new ulong[(_seqBits + 63) / 64];
    }

    public string Id { get; }
    public EndPoint? LocalEndPoint { get; }
    public EndPoint? RemoteEndPoint { get; }
    public SmbServerContext Server { get; }
    internal ILogger Log { get; }
    public CancellationToken Closed => _closed.Token;

    // Negotiated state (MS-SMB2 3.3.1.7).
    public ushort Dialect { get; set; }
    public bool Negotiated { get; set; }
    public Guid ClientGuid { get; set; }
    public ushort ClientSecurityMode { get; set; }
    public uint ClientCapabilities { get; set; }
    public ushort[] ClientDialects { get; set; } = [];
    public uint ServerCapabilities { get; set; }
    public ushort ServerSecurityMode { get; set; }
    public bool SupportsMultiCredit { get; set; }
    public SigningAlgorithm SigningAlgorithm { get; set; } = SigningAlgorithm.HmacSha256;
    public byte[]? PreauthHash { get; set; }

    private readonly record struct OutFrame(byte[] Buffer, int Length);

    public async Task RunAsync()
    {
        Server.Notifier.Register(this);
        var writer = Task.Run(WriteLoopAsync);
        try
        {
            await ReadLoopAsync().ConfigureAwait(false);
            if (_frameFault is { } fault) throw fault;
        }
        catch (SmbConnectionErrorException ex)
        {
            SmbLog.ConnectionDropped(Log, Id, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            SmbLog.ConnectionFault(Log, Id, ex);
        }
        finally
        {
            _output.Writer.TryComplete();
            await _closed.CancelAsync().ConfigureAwait(false);
            // Queued responses go out unless the peer stopped reading (a send blocked on a full window): then the
            // connection's opens must not wait for it. Closing the transport fails that send.
            try { await writer.WaitAsync(WriterGrace).ConfigureAwait(false); } catch (Exception) { /* the peer is gone */ }
            Server.Notifier.Unregister(this);
            await TeardownAsync().ConfigureAwait(false);
            await _transport.CloseAsync().ConfigureAwait(false);
            try { await writer.ConfigureAwait(false); } catch (Exception) { /* the peer is gone */ }
        }
    }

    /// <summary>How long a closing connection waits for its last responses to be sent.</summary>
    private static readonly TimeSpan WriterGrace = TimeSpan.FromSeconds(5);

    /// <summary>Frames processed at once per connection: I/O of one request overlaps reading the next.</summary>
    private const int MaxConcurrentFrames = 8;
    private readonly SemaphoreSlim _inflight = new(MaxConcurrentFrames, MaxConcurrentFrames);
    private Exception? _frameFault;

    private async Task ReadLoopAsync()
    {
        var maxFrame = (int)Math.Max(Server.Settings.MaxWriteSize, Server.Settings.MaxTransactSize) + FrameSlack;
        try
        {
            while (await _transport.ReadFrameAsync(maxFrame).ConfigureAwait(false) is var (arr, len))
            {
                if (MustSerialize(arr, len))
                {
                    // Commands that change connection or session state run alone, in arrival order.
                    await DrainFramesAsync().ConfigureAwait(false);
                    try { await ProcessFrameAsync(arr, len).ConfigureAwait(false); }
                    finally { ArrayPool<byte>.Shared.Return(arr); }
                }
                else
                {
                    await _inflight.WaitAsync(_closed.Token).ConfigureAwait(false);
                    _ = RunFrameAsync(arr, len);
                }
                if (_frameFault is { } fault) throw fault;
            }
        }
        finally
        {
            await DrainFramesAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Ends the connection from the server's side (a fenced cluster node drops every client).</summary>
    internal void Abort(string reason = "connection dropped by the server")
    {
        _frameFault ??= new SmbConnectionErrorException(reason);
        _transport.CancelRead();
    }

    private async Task RunFrameAsync(byte[] arr, int len)
    {
        try
        {
            await ProcessFrameAsync(arr, len).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A frame that must end the connection (or the connection ending under it): stop reading.
            _frameFault ??= ex;
            _transport.CancelRead();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(arr);
            _inflight.Release();
        }
    }

    /// <summary>Waits until no frame is being processed.</summary>
    private async Task DrainFramesAsync()
    {
        for (var i = 0; i < MaxConcurrentFrames; i++) await _inflight.WaitAsync().ConfigureAwait(false);
        _inflight.Release(MaxConcurrentFrames);
    }

    /// <summary>Non-SMB2 frames (SMB1 negotiate, encrypted transforms) and state-changing commands run serially.</summary>
    private static bool MustSerialize(byte[] frame, int len)
    {
        if (len < 64 || frame[0] != 0xFE) return true;
        var cmd = (Protocol.SmbCommand)System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(frame.AsSpan(12));
        return cmd is Protocol.SmbCommand.Negotiate or Protocol.SmbCommand.SessionSetup or Protocol.SmbCommand.Logoff
            or Protocol.SmbCommand.TreeConnect or Protocol.SmbCommand.TreeDisconnect;
    }

    /// <summary>Queues a finished frame (NetBIOS header at offset 0) for the writer; the writer returns the buffer to the pool.</summary>
    internal void Send(ResponseBuffer frame)
    {
        var len = frame.Length - 4;
        var span = frame.Array.AsSpan();
        span[0] = 0;
        span[1] = (byte)(len >> 16);
        span[2] = (byte)(len >> 8);
        span[3] = (byte)len;
        var arr = frame.Array;
        var total = frame.Length;
        // Ownership of the array moves to the writer.
        if (!_output.Writer.TryWrite(new OutFrame(arr, total))) ArrayPool<byte>.Shared.Return(arr);
        frame.Detach();
    }

    /// <summary>Most frames sent in one gathered send.</summary>
    private const int MaxSendBatch = 64;

    private async Task WriteLoopAsync()
    {
        var reader = _output.Reader;
        var batch = new List<ArraySegment<byte>>(MaxSendBatch);
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (batch.Count < MaxSendBatch && reader.TryRead(out var f)) batch.Add(new ArraySegment<byte>(f.Buffer, 0, f.Length));
                try
                {
                    await _transport.SendAsync(batch).ConfigureAwait(false);
                }
                finally
                {
                    foreach (var f in batch) ArrayPool<byte>.Shared.Return(f.Array!);
                    batch.Clear();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The peer is gone: stop reading its requests too.
            Abort($"sending failed: {ex.Message}");
        }
        finally
        {
            while (reader.TryRead(out var f)) ArrayPool<byte>.Shared.Return(f.Buffer);
        }
    }

    /// <summary>A new FileId's volatile half: unique on the node, since every channel of a session reaches its opens.</summary>
    internal ulong NextVolatileId() => Server.NextVolatileId();

    // Opens belong to their session (Session.OpenTable); a connection reaches those of the sessions it carries.
    internal void AddOpen(SmbOpen open)
    {
        open.Session.AddOpen(open);
        Server.TrackOpen(open);
    }

    internal IEnumerable<SmbOpen> Opens => _sessions.Values.SelectMany(s => s.Opens);

    internal bool TryGetOpen(ulong volatileId, out SmbOpen open)
    {
        foreach (var s in _sessions.Values)
            if (s.TryGetOpen(volatileId, out open)) return true;
        open = null!;
        return false;
    }

    /// <summary>Connection.SessionTable: the sessions established here and those bound to this connection as a channel.</summary>
    internal void AddSession(SmbSession s) => _sessions[s.Id] = s;
    internal bool TryGetSession(ulong id, out SmbSession s) => _sessions.TryGetValue(id, out s!);
    internal bool RemoveSession(ulong id, out SmbSession s) => _sessions.TryRemove(id, out s!);

    /// <summary>
    /// When the connection ends, each of its sessions loses this channel; a session with no channel left is logged
    /// off (its trees and opens closed), one still bound to another connection lives on there (MS-SMB2 3.3.7.1).
    /// </summary>
    private async Task TeardownAsync()
    {
        foreach (var s in _sessions.Values.ToArray())
        {
            try
            {
                RemoveSession(s.Id, out _);
                if (s.RemoveChannel(this) > 0) continue;
                await LogoffSessionAsync(s).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                SmbLog.ConnectionFault(Log, Id, ex);
            }
        }
    }

    /// <summary>
    /// Ends a session on every channel (LOGOFF, or its last connection gone): trees, opens, pending requests. Durable
    /// opens stay, disconnected, for a later session of their user to reclaim (Windows and Samba; smb2.durable-open.reopen4).
    /// </summary>
    internal async Task LogoffSessionAsync(SmbSession session)
    {
        const bool preserveDurable = true;
        RemoveSession(session.Id, out _);
        Server.UnregisterSession(session);
        // The channel list stays as it was (an expired session takes no new channel): the response to this LOGOFF, or
        // to the failed reauthentication that ended the session, is still signed with this channel's key.
        var channels = session.Expire();
        foreach (var ch in channels) ch.Connection.RemoveSession(session.Id, out _);
        foreach (var t in session.Trees.ToArray()) await DisconnectTreeAsync(t, preserveDurable).ConfigureAwait(false);
        // Opens whose tree went first (should none be left, they are closed all the same).
        foreach (var o in session.Opens.ToArray()) await CloseOpenAsync(o, preserveDurable).ConfigureAwait(false);
        CancelPending(op => op.Session == session);
        foreach (var ch in channels)
            if (!ReferenceEquals(ch.Connection, this)) ch.Connection.CancelPending(op => op.Session == session);
    }

    internal async Task DisconnectTreeAsync(SmbTreeConnect tree, bool preserveDurable = false)
    {
        tree.Session.RemoveTree(tree.Id, out _);
        // Closing the opens first completes their pending CHANGE_NOTIFYs with STATUS_NOTIFY_CLEANUP; anything else
        // still pending on the tree (on any channel of the session) is cancelled.
        foreach (var o in tree.Session.Opens.Where(o => o.Tree == tree).ToArray()) await CloseOpenAsync(o, preserveDurable).ConfigureAwait(false);
        CancelPending(op => op.Tree == tree);
        foreach (var ch in tree.Session.Channels)
            if (!ReferenceEquals(ch.Connection, this)) ch.Connection.CancelPending(op => op.Tree == tree);
        if (tree.VfsOrNull is { } vfs) await vfs.DisposeAsync().ConfigureAwait(false);
    }
}
