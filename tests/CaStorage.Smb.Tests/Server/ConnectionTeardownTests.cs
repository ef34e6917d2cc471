using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Tests.Server;

/// <summary>A connection that ends releases what it held, even when its peer stopped reading its responses.</summary>
public sealed class ConnectionTeardownTests : IDisposable
{
    private readonly TestServer _server = new();

    public void Dispose() => _server.Dispose();

    private async Task<(TestSmbClient Client, System.IO.Pipelines.IDuplexPipe Pipe)> LoggedOnAsync()
    {
        var (pipe, _) = _server.Connect();
        var c = new TestSmbClient(pipe);
        Assert.Equal(NtStatus.Success, (await c.NegotiateAsync(0x0302)).Status);
        Assert.Equal(NtStatus.Success, (await c.SessionSetupAsync(TestServer.User, TestServer.Password)).Status);
        Assert.Equal(NtStatus.Success, (await c.TreeConnectAsync(@"\\server\share")).Status);
        return (c, pipe);
    }

    [Fact]
    public async Task PeerThatStopsReading_AndHangsUp_StillHasItsOpensClosed()
    {
        var (a, aPipe) = await LoggedOnAsync();
        var (r, fileId) = await a.CreateAsync("stuck.bin", share: ShareAccess.None);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.Equal(NtStatus.Success, (await a.WriteAsync(fileId, 0, new byte[256 * 1024])).Status);

        // A 256 KiB READ whose answer the client never reads: the server's send blocks on the full pipe (64 KiB).
        var body = new byte[49];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(body, 49);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), 256 * 1024);
        fileId.CopyTo(body, 16);
        await a.SendFrameAsync(a.Build(SmbCommand.Read, body, creditCharge: 4));
        await aPipe.Output.CompleteAsync(); // and hangs up without reading

        var (b, _) = await LoggedOnAsync();
        var status = NtStatus.SharingViolation;
        for (var i = 0; i < 100 && status == NtStatus.SharingViolation; i++)
        {
            await Task.Delay(100);
            status = (await b.CreateAsync("stuck.bin", share: ShareAccess.None)).R.Status;
        }
        Assert.Equal(NtStatus.Success, status);
    }
}
