using System.Buffers;
using CaStorage.Rpc;
using Grpc.Health.V1;

namespace CaStorage.Admin.Tests;

public sealed class GrpcFramingTests
{
    [Fact]
    public void Frame_IsFlagLengthAndMessage()
    {
        var message = new HealthCheckRequest { Service = "abc" };
        var bytes = GrpcFraming.Frame(message);
        Assert.Equal(0, bytes[0]);
        Assert.Equal([0, 0, 0, 5], bytes[1..5]);          // field 1, length 3, "abc"
        Assert.Equal([0x0A, 3, (byte)'a', (byte)'b', (byte)'c'], bytes[5..]);
    }

    [Fact]
    public void TryReadMessage_TwoMessagesAndAPartialOne_ReadsTwoAndKeepsTheRest()
    {
        var one = GrpcFraming.Frame(new HealthCheckRequest { Service = "one" });
        var two = GrpcFraming.Frame(new HealthCheckRequest { Service = "two" });
        var buffer = new ReadOnlySequence<byte>([.. one, .. two, .. two[..6]]);
        Assert.True(GrpcFraming.TryReadMessage(ref buffer, 1024, out var m1));
        Assert.Equal("one", HealthCheckRequest.Parser.ParseFrom(m1).Service);
        Assert.True(GrpcFraming.TryReadMessage(ref buffer, 1024, out var m2));
        Assert.Equal("two", HealthCheckRequest.Parser.ParseFrom(m2).Service);
        Assert.False(GrpcFraming.TryReadMessage(ref buffer, 1024, out _));
        Assert.Equal(6, buffer.Length);
    }

    [Fact]
    public void TryReadMessage_TruncatedAtEveryByte_AsksForMore()
    {
        var frame = GrpcFraming.Frame(new HealthCheckRequest { Service = "truncated" });
        for (var n = 0; n < frame.Length; n++)
        {
            var buffer = new ReadOnlySequence<byte>(frame[..n]);
            Assert.False(GrpcFraming.TryReadMessage(ref buffer, 1024, out _));
            Assert.Equal(n, buffer.Length);
        }
    }

    [Fact]
    public void TryReadMessage_OverTheLimit_IsResourceExhaustedFromTheHeaderAlone()
    {
        // Only the 5-byte prefix is present: the size is refused before any payload is buffered.
        var buffer = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0x10, 0, 1 });
        var ex = Assert.Throws<RpcException>(() => GrpcFraming.TryReadMessage(ref buffer, 1024 * 1024, out _));
        Assert.Equal(RpcStatusCode.ResourceExhausted, ex.Status);
    }

    [Fact]
    public void TryReadMessage_CompressedWithoutEncoding_IsInternal()
    {
        var buffer = new ReadOnlySequence<byte>(new byte[] { 1, 0, 0, 0, 0 });
        Assert.Equal(RpcStatusCode.Internal, Assert.Throws<RpcException>(() => GrpcFraming.TryReadMessage(ref buffer, 1024, out _)).Status);
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100% sure", "100%25 sure")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("café", "caf%C3%A9")]
    public void GrpcMessage_IsPercentEncodedUtf8(string message, string encoded)
    {
        Assert.Equal(encoded, GrpcStatusText.Encode(message));
        Assert.Equal(message, GrpcStatusText.Decode(encoded));
    }

    [Theory]
    [InlineData("100m", 100 * TimeSpan.TicksPerMillisecond)]
    [InlineData("5S", 5 * TimeSpan.TicksPerSecond)]
    [InlineData("2M", 2 * TimeSpan.TicksPerMinute)]
    [InlineData("1H", TimeSpan.TicksPerHour)]
    [InlineData("250u", 2500)]
    [InlineData("1000n", 10)]
    public void GrpcTimeout_Parses(string header, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var t));
        Assert.Equal(ticks, t.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("10x")]
    [InlineData("123456789S")]
    [InlineData("-5S")]
    public void GrpcTimeout_RejectsMalformed(string header) => Assert.False(GrpcTimeout.TryParse(header, out _));
}
