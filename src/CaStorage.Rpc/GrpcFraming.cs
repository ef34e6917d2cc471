using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace CaStorage.Rpc;

/// <summary>
/// The gRPC length-prefixed message (gRPC over HTTP/2, "Length-Prefixed-Message"): one byte Compressed-Flag, a
/// four-byte big-endian Message-Length, then the protobuf bytes. The size limit is checked from the prefix, before
/// the message is buffered (grpc-dotnet's MaxReceiveMessageSize).
/// </summary>
public static class GrpcFraming
{
    public const int HeaderSize = 5;

    /// <summary>Default largest message accepted (grpc-dotnet's default for receiving).</summary>
    public const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    /// <summary>
    /// Takes one complete message off the front of <paramref name="buffer"/>. False when more bytes are needed.
    /// Throws <see cref="RpcException"/> for a compressed message (no grpc-encoding is negotiated here) or one over
    /// <paramref name="maxMessageSize"/>.
    /// </summary>
    public static bool TryReadMessage(ref ReadOnlySequence<byte> buffer, int maxMessageSize, out ReadOnlySequence<byte> message)
    {
        message = default;
        if (buffer.Length < HeaderSize) return false;
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        switch (header[0])
        {
            case 0: break;
            case 1: throw new RpcException(RpcStatusCode.Internal, "Compressed message received, but no grpc-encoding was negotiated.");
            default: throw new RpcException(RpcStatusCode.Internal, $"Invalid compressed-flag value {header[0]} in message header.");
        }
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxMessageSize)
            throw new RpcException(RpcStatusCode.ResourceExhausted, $"Received message of {length} bytes exceeds the limit of {maxMessageSize} bytes.");
        if (buffer.Length < HeaderSize + length) return false;
        message = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(HeaderSize + length);
        return true;
    }

    /// <summary>Writes <paramref name="message"/> with its prefix straight into the writer's memory (no copy).</summary>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message)
    {
        var size = message.CalculateSize();
        var span = writer.GetSpan(HeaderSize + size);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        message.WriteTo(span.Slice(HeaderSize, size));
        writer.Advance(HeaderSize + size);
    }

    /// <summary>The framed bytes of one message (client requests).</summary>
    public static byte[] Frame(IMessage message)
    {
        var size = message.CalculateSize();
        var bytes = new byte[HeaderSize + size];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)size);
        message.WriteTo(bytes.AsSpan(HeaderSize));
        return bytes;
    }

    /// <summary>
    /// Reads messages from <paramref name="reader"/> until the peer ends its side of the stream. A partial message at
    /// the end is an error, as in grpc-dotnet ("Incomplete message").
    /// </summary>
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageSize,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct) where T : IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            List<T>? parsed = null;
            try
            {
                while (TryReadMessage(ref buffer, maxMessageSize, out var payload))
                    (parsed ??= []).Add(Parse(parser, payload));
                if (result.IsCompleted && buffer.Length > 0)
                    throw new RpcException(RpcStatusCode.Internal, "Incomplete message: the stream ended inside a message.");
            }
            finally
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
            if (parsed is not null)
                foreach (var m in parsed) yield return m;
            if (result.IsCompleted || result.IsCanceled) yield break;
        }
    }

    /// <summary>Reads exactly one message and the end of the stream (unary requests; trailing data is an error).</summary>
    public static async ValueTask<T> ReadSingleAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageSize, CancellationToken ct)
        where T : IMessage<T>
    {
        T? first = default;
        var count = 0;
        await foreach (var m in ReadAllAsync(reader, parser, maxMessageSize, ct).ConfigureAwait(false))
        {
            if (++count > 1) throw new RpcException(RpcStatusCode.Internal, "Additional data after the message received.");
            first = m;
        }
        if (count == 0) throw new RpcException(RpcStatusCode.Internal, "Request did not contain a message.");
        return first!;
    }

    /// <summary>Parses one message; malformed bytes are INTERNAL, as grpc-dotnet answers them.</summary>
    internal static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload) where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(RpcStatusCode.Internal, $"Malformed message: {ex.Message}", ex);
        }
    }
}
