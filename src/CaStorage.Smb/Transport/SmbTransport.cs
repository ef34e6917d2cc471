using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace CaStorage.Smb.Transport;

/// <summary>
/// The byte stream under one SMB connection: requests are read from a pipe (frames are cut out of it), whole
/// response frames are sent in order.
/// </summary>
internal abstract class SmbTransport
{
    public abstract PipeReader Input { get; }

    /// <summary>Sends frames in order. The arrays stay the caller's; they may be reused once this completes.</summary>
    public abstract ValueTask SendAsync(IList<ArraySegment<byte>> frames);

    /// <summary>Ends the connection: nothing more is read or sent.</summary>
    public abstract ValueTask CloseAsync();
}

/// <summary>In-memory transport over a pipe pair (tests, fuzzing).</summary>
internal sealed class PipeSmbTransport(IDuplexPipe pipe) : SmbTransport
{
    public override PipeReader Input => pipe.Input;

    public override async ValueTask SendAsync(IList<ArraySegment<byte>> frames)
    {
        foreach (var f in frames) pipe.Output.Write(f.AsSpan());
        var r = await pipe.Output.FlushAsync().ConfigureAwait(false);
        if (r.IsCompleted) throw new IOException("the peer stopped reading");
    }

    public override async ValueTask CloseAsync()
    {
        await pipe.Input.CompleteAsync().ConfigureAwait(false);
        await pipe.Output.CompleteAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// A TCP socket. Reads go into large buffers (a WRITE of megabytes arrives in a few receives, not in thousands of
/// 4 KiB ones as with a general-purpose transport such as Kestrel's), with a zero-byte read first so that an idle
/// connection holds no buffer. Frames go out with one gathered send per batch, without a copy.
/// </summary>
internal sealed class SocketSmbTransport : SmbTransport
{
    private const int ReceiveBufferSize = 256 * 1024;
    private const int MinimumReadSize = 16 * 1024;

    private readonly Socket _socket;
    private readonly PipeReader _input;

    public SocketSmbTransport(Socket socket)
    {
        _socket = socket;
        _input = PipeReader.Create(new NetworkStream(socket, ownsSocket: false),
            new StreamPipeReaderOptions(bufferSize: ReceiveBufferSize, minimumReadSize: MinimumReadSize, leaveOpen: true, useZeroByteReads: true));
    }

    public override PipeReader Input => _input;

    public override async ValueTask SendAsync(IList<ArraySegment<byte>> frames) =>
        await _socket.SendAsync(frames, SocketFlags.None).ConfigureAwait(false);

    public override async ValueTask CloseAsync()
    {
        await _input.CompleteAsync().ConfigureAwait(false);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        _socket.Dispose();
    }
}
