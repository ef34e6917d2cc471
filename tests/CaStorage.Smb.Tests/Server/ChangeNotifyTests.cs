using System.Buffers.Binary;
using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Tests.Server;

public sealed class ChangeNotifyTests : IDisposable
{
    private readonly TestServer _server = new();
    public void Dispose() => _server.Dispose();

    private static byte[] NotifyBody(byte[] dirId, uint filter, bool tree = false)
    {
        var body = new byte[32];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 32);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), tree ? (ushort)1 : (ushort)0);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), 4096);
        dirId.CopyTo(body, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(24), filter);
        return body;
    }

    private async Task<(TestSmbClient C, byte[] Dir)> SetupAsync()
    {
        var (pipe, _) = _server.Connect();
        var c = new TestSmbClient(pipe);
        await c.NegotiateAsync(0x0302);
        await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        await c.TreeConnectAsync(@"\\server\share");
        var (r, dir) = await c.CreateAsync("", AccessMask.GenericRead, ShareAccess.All, CreateDisposition.Open, CreateOptions.DirectoryFile);
        Assert.Equal(NtStatus.Success, r.Status);
        return (c, dir);
    }

    [Fact]
    public async Task Notify_GoesPending_ThenReportsACreatedFile()
    {
        var (c, dir) = await SetupAsync();
        var interim = await c.RequestAsync(SmbCommand.ChangeNotify, NotifyBody(dir, 0x1 /* FILE_NAME */));
        Assert.Equal(NtStatus.Pending, interim.Status);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(interim.Message.AsSpan(16));
        Assert.NotEqual(0u, flags & 0x2); // SMB2_FLAGS_ASYNC_COMMAND
        var asyncId = BinaryPrimitives.ReadUInt64LittleEndian(interim.Message.AsSpan(32));

        // The create's own response and the notify completion may arrive in either order.
        await c.SendFrameAsync(c.Build(SmbCommand.Create, TestSmbClient.CreateBody("new.txt", AccessMask.GenericWrite, ShareAccess.All, CreateDisposition.Create, CreateOptions.None)));
        TestSmbClient.Response? final = null;
        for (var i = 0; i < 2; i++)
        {
            var r = TestSmbClient.Parse((await c.ReceiveFrameAsync())!);
            if (r.Command == SmbCommand.ChangeNotify) final = r;
            else Assert.Equal(NtStatus.Success, r.Status);
        }
        Assert.NotNull(final);
        Assert.Equal(NtStatus.Success, final!.Status);
        Assert.Equal(asyncId, BinaryPrimitives.ReadUInt64LittleEndian(final.Message.AsSpan(32)));
        var off = BinaryPrimitives.ReadUInt16LittleEndian(final.Body[2..]);
        var action = BinaryPrimitives.ReadUInt32LittleEndian(final.Message.AsSpan(off + 4));
        var nameLen = BinaryPrimitives.ReadInt32LittleEndian(final.Message.AsSpan(off + 8));
        Assert.Equal(1u, action); // FILE_ACTION_ADDED
        Assert.Equal("new.txt", Encoding.Unicode.GetString(final.Message.AsSpan(off + 12, nameLen)));
    }

    [Fact]
    public async Task Notify_WithAChangeAlreadyQueued_SendsTheInterimBeforeTheFinalResponse()
    {
        var (c, dir) = await SetupAsync();
        Assert.Equal(NtStatus.Pending, (await c.RequestAsync(SmbCommand.ChangeNotify, NotifyBody(dir, 0x1))).Status);
        await c.SendFrameAsync(c.Build(SmbCommand.Create, TestSmbClient.CreateBody("a.txt", AccessMask.GenericWrite, ShareAccess.All, CreateDisposition.Create, CreateOptions.None)));
        for (var i = 0; i < 2; i++) TestSmbClient.Parse((await c.ReceiveFrameAsync())!);
        // A change while no notify is outstanding stays queued in the watch: the next notify's work completes at
        // once, and its final response must still follow its interim STATUS_PENDING (MS-SMB2 3.3.4.2).
        var (created, _) = await c.CreateAsync("b.txt", disposition: CreateDisposition.Create);
        Assert.Equal(NtStatus.Success, created.Status);
        var interim = await c.RequestAsync(SmbCommand.ChangeNotify, NotifyBody(dir, 0x1));
        Assert.Equal(NtStatus.Pending, interim.Status);
        var final = TestSmbClient.Parse((await c.ReceiveFrameAsync())!);
        Assert.Equal(SmbCommand.ChangeNotify, final.Command);
        Assert.Equal(NtStatus.Success, final.Status);
        Assert.Equal(interim.MessageId, final.MessageId);
    }

    [Fact]
    public async Task Notify_Cancel_CompletesWithStatusCancelled()
    {
        var (c, dir) = await SetupAsync();
        var interim = await c.RequestAsync(SmbCommand.ChangeNotify, NotifyBody(dir, 0x1));
        Assert.Equal(NtStatus.Pending, interim.Status);
        var cancel = c.Build(SmbCommand.Cancel, new byte[] { 4, 0, 0, 0 });
        BinaryPrimitives.WriteUInt32LittleEndian(cancel.AsSpan(16), 0x2); // async form
        interim.Message.AsSpan(32, 8).CopyTo(cancel.AsSpan(32));
        await c.SendFrameAsync(cancel);
        var final = TestSmbClient.Parse((await c.ReceiveFrameAsync())!);
        Assert.Equal(SmbCommand.ChangeNotify, final.Command);
        Assert.Equal(NtStatus.Cancelled, final.Status);
        Assert.Equal(NtStatus.Success, (await c.EchoAsync()).Status);
    }

    [Fact]
    public async Task Notify_OnAFile_IsInvalidParameter_AndClosingTheDirectoryCleansUp()
    {
        var (c, dir) = await SetupAsync();
        var (_, file) = await c.CreateAsync("f", disposition: CreateDisposition.Create);
        Assert.Equal(NtStatus.InvalidParameter, (await c.RequestAsync(SmbCommand.ChangeNotify, NotifyBody(file, 0x1))).Status);
        Assert.Equal(NtStatus.Pending, (await c.RequestAsync(SmbCommand.ChangeNotify, NotifyBody(dir, 0x1))).Status);
        await c.SendFrameAsync(c.Build(SmbCommand.Close, CloseBody(dir)));
        var statuses = new List<(SmbCommand, NtStatus)>();
        for (var i = 0; i < 2; i++)
        {
            var r = TestSmbClient.Parse((await c.ReceiveFrameAsync())!);
            statuses.Add((r.Command, r.Status));
        }
        Assert.Contains((SmbCommand.ChangeNotify, NtStatus.NotifyCleanup), statuses);
        Assert.Contains((SmbCommand.Close, NtStatus.Success), statuses);
    }

    private static byte[] CloseBody(byte[] fileId)
    {
        var body = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 24);
        fileId.CopyTo(body, 8);
        return body;
    }
}
