using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Tests.Server;

/// <summary>A connection that ends releases what it held, even when its peer stopped reading its responses.</summary>
public sealed class ConnectionTeardownTests : IDisposable
{
    private readonly TestServer _server = new();

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task PeerThatStopsReading_AndHangsUp_StillHasItsOpensClosed()
    {
        var a = await _server.LoggedOnAsync();
        var (r, fileId) = await a.CreateAsync("stuck.bin", share: ShareAccess.None);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.Equal(NtStatus.Success, (await a.WriteAsync(fileId, 0, new byte[256 * 1024])).Status);

        // A 256 KiB READ whose answer the client never reads: the server's send blocks on the full pipe (64 KiB).
        const int length = 256 * 1024;
        await a.SendFrameAsync(a.Build(SmbCommand.Read, TestSmbClient.ReadBody(fileId, 0, length), TestSmbClient.ReadCharge(length)));
        await a.Pipe.Output.CompleteAsync(); // and hangs up without reading

        var b = await _server.LoggedOnAsync();
        var status = NtStatus.SharingViolation;
        for (var i = 0; i < 100 && status == NtStatus.SharingViolation; i++)
        {
            await Task.Delay(100);
            status = (await b.CreateAsync("stuck.bin", share: ShareAccess.None)).R.Status;
        }
        Assert.Equal(NtStatus.Success, status);
    }
}
