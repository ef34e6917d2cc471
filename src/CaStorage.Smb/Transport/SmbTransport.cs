using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using CaStorage.Smb.Server;

namespace CaStorage.Smb.Transport;

/// <summary>One received SMB message (without its Direct TCP header) in a pooled array the receiver returns.</summary>
internal readonly record struct SmbFrame(byte[] Buffer, int Length);

/// <summary>
/// The byte stream under one SMB connection: Direct TCP frames in (MS-SMB2 2.1: a zero byte and a 24-bit
/// big-endian length, then the message), whole response frames out, in order.
/// </summary>
internal abstract class SmbTransport
{
    /// <summary>The next frame; null when the peer closed the stream or the read was cancelled.</summary>
    /// <exception cref="SmbConnectionErrorException">The framing is broken (the connection must be dropped).</exception>
    public abstract ValueTask<SmbFrame?> ReadFrameAsync(int maxFrame);

    /// <summary>Makes a pending or the next <see cref="ReadFrameAsync"/> return null (the server drops the connection).</summary>
    public abstract void CancelRead();

    /// <summary>Sends frames in order. The arrays stay the caller's; they may be reused once this completes.</summary>
    public abstract ValueTask SendAsync(IList<ArraySegment<byte>> frames);

    /// <summary>Ends the connection: nothing more is read or sent.</summary>
    public abstract ValueTask CloseAsync();

    /// <summary>The message length from a Direct TCP header, checked.</summary>
    protected static int FrameLength(ReadOnlySpan<byte> header, int maxFrame)
    {
        if (header[0] != 0) throw new SmbConnectionErrorException($"bad transport header type 0x{header[0]:x2}");
        var len = (header[1] << 16) | (header[2] << 8) | header[3];
        if (len > maxFrame) throw new SmbConnectionErrorException($"frame of {len} bytes exceeds the limit");
        if (len < 4) throw new SmbConnectionErrorException("frame too short");
        return len;
    }

    protected static byte[] Rent(int length) => ArrayPool<byte>.Shared.Rent(Math.Max(length, 64));
}

/// <summary>In-memory transport over a pipe pair (tests, fuzzing).</summary>
internal sealed class PipeSmbTransport(IDuplexPipe pipe) : SmbTransport
{
    public override async ValueTask<SmbFrame?> ReadFrameAsync(int maxFrame)
    {
        while (true)
        {
            var result = await pipe.Input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled) return null;
            if (buffer.Length >= 4)
            {
                var len = FrameLength(buffer, maxFrame);
                if (buffer.Length >= 4 + len)
                {
                    var arr = Rent(len);
                    buffer.Slice(4, len).CopyTo(arr);
                    pipe.Input.AdvanceTo(buffer.GetPosition(4 + len));
                    return new SmbFrame(arr, len);
                }
            }
            pipe.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) return null;
        }
    }

    private static int FrameLength(ReadOnlySequence<byte> buffer, int maxFrame)
    {
        Span<byte> header = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(header);
        return FrameLength(header, maxFrame);
    }

    public override void CancelRead() => pipe.Input.CancelPendingRead();

    public override async ValueTask SendAsync(IList<ArraySegment<byte>> frames)
    {
        foreach (var f in frames) pipe.Output.Write(f.AsSpan());
        var r = await pipe.Output.FlushAsync().ConfigureAwait(false);
        if (r.IsCompleted) throw new IOException("the peer stopped reading");
    }

    public override async ValueTask CloseAsync()
    {
        // A send blocked on a peer that does not read gives up (as a socket send does when the socket closes).
        pipe.Output.CancelPendingFlush();
        await pipe.Input.CompleteAsync().ConfigureAwait(false);
        await pipe.Output.CompleteAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// A TCP socket. Small frames are cut out of a read-ahead buffer (many per receive); the rest of a large one (a WRITE
/// of megabytes) is received straight into its own array, with no intermediate copy. An idle connection waits with
/// a zero-byte receive and holds no buffer. Frames go out with one gathered send per batch, without a copy.
/// </summary>
internal sealed class SocketSmbTransport(Socket socket) : SmbTransport
{
    private const int ReadAheadSize = 64 * 1024;

    private readonly CancellationTokenSource _cancelRead = new();
    private byte[]? _buffer;
    private int _start, _count;

    public override async ValueTask<SmbFrame?> ReadFrameAsync(int maxFrame)
    {
        try
        {
            while (_count < 4)
                if (!await FillAsync().ConfigureAwait(false)) return null;
            var len = FrameLength(_buffer.AsSpan(_start, 4), maxFrame);
            var arr = Rent(len);
            var have = Math.Min(_count - 4, len);
            _buffer.AsSpan(_start + 4, have).CopyTo(arr);
            Consume(4 + have);
            while (have < len)
            {
                var n = await socket.ReceiveAsync(arr.AsMemory(have, len - have), SocketFlags.None, _cancelRead.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    ArrayPool<byte>.Shared.Return(arr);
                    return null;
                }
                have += n;
            }
            return new SmbFrame(arr, len);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            // Cancelled by the server, or reset by the peer: the connection ends either way.
            return null;
        }
    }

    /// <summary>Receives more into the read-ahead buffer; false at the end of the stream.</summary>
    private async ValueTask<bool> FillAsync()
    {
        if (_buffer is null)
        {
            // Wait for data before taking a buffer: thousands of idle sessions cost no read-ahead memory.
            await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, _cancelRead.Token).ConfigureAwait(false);
            _buffer = ArrayPool<byte>.Shared.Rent(ReadAheadSize);
            _start = 0;
        }
        else if (_start > 0)
        {
            _buffer.AsSpan(_start, _count).CopyTo(_buffer);
            _start = 0;
        }
        var n = await socket.ReceiveAsync(_buffer.AsMemory(_count), SocketFlags.None, _cancelRead.Token).ConfigureAwait(false);
        _count += n;
        return n > 0;
    }

    private void Consume(int n)
    {
        _start += n;
        _count -= n;
        if (_count > 0) return;
        ArrayPool<byte>.Shared.Return(_buffer!);
        _buffer = null;
        _start = 0;
    }

    public override void CancelRead() => _cancelRead.Cancel();

    public override async ValueTask SendAsync(IList<ArraySegment<byte>> frames)
    {
        // One frame, the usual case, goes out on the single-buffer path (no buffer list to marshal).
        if (frames.Count == 1) await socket.SendAsync(frames[0].AsMemory(), SocketFlags.None).ConfigureAwait(false);
        else await socket.SendAsync(frames, SocketFlags.None).ConfigureAwait(false);
    }

    public override ValueTask CloseAsync()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        socket.Dispose();
        if (_buffer is { } b) ArrayPool<byte>.Shared.Return(b);
        _buffer = null;
        // _cancelRead is not disposed: a late Abort (a fenced node drops every client) may still cancel it.
        return ValueTask.CompletedTask;
    }
}
