using System.Buffers.Binary;
using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Tests.Server;

/// <summary>In-memory transcripts: a client talks to an SmbConnection over pipes, no sockets.</summary>
public sealed class ProtocolTranscriptTests : IDisposable
{
    private readonly TestServer _server = new();

    public void Dispose() => _server.Dispose();

    private Task<TestSmbClient> LoggedOnAsync(ushort dialect = 0x0302) => _server.LoggedOnAsync(dialect);

    [Theory]
    [InlineData((ushort)0x0202)]
    [InlineData((ushort)0x0210)]
    [InlineData((ushort)0x0300)]
    [InlineData((ushort)0x0302)]
    [InlineData((ushort)0x0311)]
    public async Task Negotiate_PicksTheOfferedDialect(ushort dialect)
    {
        var (pipe, _) = _server.Connect();
        var c = new TestSmbClient(pipe);
        var r = await c.NegotiateAsync(dialect);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.Equal(dialect, BinaryPrimitives.ReadUInt16LittleEndian(r.Body[4..]));
    }

    [Fact]
    public async Task Negotiate_UnknownDialectsOnly_IsNotSupported()
    {
        var (pipe, _) = _server.Connect();
        var r = await new TestSmbClient(pipe).NegotiateAsync(0x0100, 0x0400);
        Assert.Equal(NtStatus.NotSupported, r.Status);
    }

    [Fact]
    public async Task SessionSetup_WrongPassword_IsLogonFailure()
    {
        var (pipe, _) = _server.Connect();
        var c = new TestSmbClient(pipe);
        await c.NegotiateAsync(0x0302);
        Assert.Equal(NtStatus.LogonFailure, (await c.SessionSetupAsync(TestServer.User, "wrong")).Status);
    }

    [Fact]
    public async Task TreeConnect_UnknownShare_IsBadNetworkName()
    {
        var (pipe, _) = _server.Connect();
        var c = new TestSmbClient(pipe);
        await c.NegotiateAsync(0x0302);
        await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        Assert.Equal(NtStatus.BadNetworkName, (await c.TreeConnectAsync(@"\\server\nope")).Status);
    }

    [Fact]
    public async Task CreateWriteReadClose_RoundTripsBytes()
    {
        var c = await LoggedOnAsync();
        var (r, fid) = await c.CreateAsync("hello.txt", disposition: CreateDisposition.Create);
        Assert.Equal(NtStatus.Success, r.Status);
        var data = Encoding.ASCII.GetBytes("hello, world");
        var w = await c.WriteAsync(fid, 0, data);
        Assert.Equal(NtStatus.Success, w.Status);
        Assert.Equal((uint)data.Length, BinaryPrimitives.ReadUInt32LittleEndian(w.Body[4..]));
        var rd = await c.ReadAsync(fid, 0, 100);
        Assert.Equal(NtStatus.Success, rd.Status);
        var len = BinaryPrimitives.ReadInt32LittleEndian(rd.Body[4..]);
        Assert.Equal(data, rd.Message.AsSpan(rd.Body[2], len).ToArray());
        Assert.Equal(NtStatus.EndOfFile, (await c.ReadAsync(fid, 1000, 10)).Status);
        Assert.Equal(NtStatus.Success, (await c.CloseAsync(fid)).Status);
        Assert.Equal("hello, world", File.ReadAllText(Path.Combine(_server.Root, "hello.txt")));
        Assert.Equal(NtStatus.FileClosed, (await c.CloseAsync(fid)).Status);
    }

    [Fact]
    public async Task Create_Existing_WithCreateDisposition_IsCollision_AndSharingIsEnforced()
    {
        var c = await LoggedOnAsync();
        var (r1, f1) = await c.CreateAsync("x", AccessMask.GenericWrite, ShareAccess.None, CreateDisposition.Create);
        Assert.Equal(NtStatus.Success, r1.Status);
        Assert.Equal(NtStatus.ObjectNameCollision, (await c.CreateAsync("x", disposition: CreateDisposition.Create)).R.Status);
        Assert.Equal(NtStatus.SharingViolation, (await c.CreateAsync("x", AccessMask.GenericRead, ShareAccess.All, CreateDisposition.Open)).R.Status);
        await c.CloseAsync(f1);
        Assert.Equal(NtStatus.Success, (await c.CreateAsync("x", AccessMask.GenericRead, ShareAccess.All, CreateDisposition.Open)).R.Status);
    }

    [Fact]
    public async Task DeleteOnClose_RemovesTheFile()
    {
        var c = await LoggedOnAsync();
        var (r, fid) = await c.CreateAsync("gone", AccessMask.GenericRead | AccessMask.Delete, ShareAccess.All, CreateDisposition.Create, CreateOptions.DeleteOnClose);
        Assert.Equal(NtStatus.Success, r.Status);
        Assert.True(File.Exists(Path.Combine(_server.Root, "gone")));
        await c.CloseAsync(fid);
        Assert.False(File.Exists(Path.Combine(_server.Root, "gone")));
    }

    [Fact]
    public async Task QueryDirectory_ListsDotEntriesAndFiles_ThenNoMoreFiles()
    {
        var c = await LoggedOnAsync();
        File.WriteAllText(Path.Combine(_server.Root, "a.txt"), "a");
        File.WriteAllText(Path.Combine(_server.Root, "b.dat"), "b");
        var (r, dir) = await c.CreateAsync("", AccessMask.GenericRead, ShareAccess.All, CreateDisposition.Open, CreateOptions.DirectoryFile);
        Assert.Equal(NtStatus.Success, r.Status);
        var q = await c.QueryDirectoryAsync(dir, "*");
        Assert.Equal(NtStatus.Success, q.Status);
        var names = DirectoryNames(q, 37);
        Assert.Equal(new[] { ".", "..", "a.txt", "b.dat" }, names.OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(NtStatus.NoMoreFiles, (await c.QueryDirectoryAsync(dir, "*")).Status);
        var filtered = await c.QueryDirectoryAsync(dir, "*.txt", flags: 1);
        Assert.Equal(new[] { "a.txt" }, DirectoryNames(filtered, 37));
        Assert.Equal(NtStatus.NoSuchFile, (await c.QueryDirectoryAsync(dir, "zzz*", flags: 1)).Status);
    }

    internal static List<string> DirectoryNames(TestSmbClient.Response q, int cls)
    {
        var off = BinaryPrimitives.ReadUInt16LittleEndian(q.Body[2..]);
        var len = BinaryPrimitives.ReadInt32LittleEndian(q.Body[4..]);
        var data = q.Message.AsSpan(off, len);
        var names = new List<string>();
        var nameAt = cls == 37 ? 104 : 64;
        var at = 0;
        while (true)
        {
            var next = BinaryPrimitives.ReadInt32LittleEndian(data[at..]);
            var nl = BinaryPrimitives.ReadInt32LittleEndian(data[(at + 60)..]);
            names.Add(Encoding.Unicode.GetString(data.Slice(at + nameAt, nl)));
            if (next == 0) break;
            at += next;
        }
        return names;
    }

    [Fact]
    public async Task SetInfo_BasicWithNormalOnly_ClearsReadOnly()
    {
        var c = await LoggedOnAsync();
        var (_, fid) = await c.CreateAsync("ro", disposition: CreateDisposition.Create);
        async Task<NtStatus> SetAttributes(uint attributes)
        {
            var body = new byte[32 + 40];
            BinaryPrimitives.WriteUInt16LittleEndian(body, 33);
            body[2] = 1;  // SMB2_0_INFO_FILE
            body[3] = 4;  // FileBasicInformation
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), 40);
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(8), SmbHeader.Size + 32);
            fid.CopyTo(body, 16);
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(32 + 32), attributes);
            return (await c.RequestAsync(SmbCommand.SetInfo, body)).Status;
        }
        async Task<uint> Attributes()
        {
            var q = await c.QueryInfoAsync(fid, 1, 4);
            var off = BinaryPrimitives.ReadUInt16LittleEndian(q.Body[2..]);
            return BinaryPrimitives.ReadUInt32LittleEndian(q.Message.AsSpan(off + 32));
        }
        Assert.Equal(NtStatus.Success, await SetAttributes(0x21)); // READONLY | ARCHIVE
        Assert.Equal(0x21u, await Attributes());
        Assert.Equal(NtStatus.Success, await SetAttributes(0));    // 0: unchanged
        Assert.Equal(0x21u, await Attributes());
        Assert.Equal(NtStatus.Success, await SetAttributes(0x80)); // NORMAL: clear all (smb2_deltree relies on it)
        Assert.Equal(0x80u, await Attributes());
    }

    [Fact]
    public async Task QueryInfo_FileStandard_ReportsSize()
    {
        var c = await LoggedOnAsync();
        var (_, fid) = await c.CreateAsync("s", disposition: CreateDisposition.Create);
        await c.WriteAsync(fid, 0, new byte[1234]);
        var q = await c.QueryInfoAsync(fid, 1, 5);
        Assert.Equal(NtStatus.Success, q.Status);
        var off = BinaryPrimitives.ReadUInt16LittleEndian(q.Body[2..]);
        Assert.Equal(1234, BinaryPrimitives.ReadInt64LittleEndian(q.Message.AsSpan(off + 8)));
        Assert.Equal(NtStatus.InfoLengthMismatch, (await c.QueryInfoAsync(fid, 1, 5, outLen: 8)).Status);
    }

    [Fact]
    public async Task Create_PathEscapingTheShare_IsRefused()
    {
        var c = await LoggedOnAsync();
        var r = (await c.CreateAsync(@"..\..\etc\passwd", AccessMask.GenericRead, ShareAccess.All, CreateDisposition.Open)).R;
        Assert.NotEqual(NtStatus.Success, r.Status);
        Assert.Equal(NtStatus.InvalidParameter, (await c.CreateAsync(@"\leading", disposition: CreateDisposition.Create)).R.Status);
    }

    [Fact]
    public async Task Request_BeforeNegotiate_DropsTheConnection()
    {
        var (pipe, server) = _server.Connect();
        var c = new TestSmbClient(pipe);
        await c.SendFrameAsync(c.Build(SmbCommand.Echo, new byte[] { 4, 0, 0, 0 }));
        Assert.Null(await c.ReceiveFrameAsync());
        await server.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Credits_MessageIdOutsideTheWindow_DropsTheConnection()
    {
        var c = await LoggedOnAsync();
        var msg = c.Build(SmbCommand.Echo, new byte[] { 4, 0, 0, 0 });
        BinaryPrimitives.WriteUInt64LittleEndian(msg.AsSpan(24), 1_000_000);
        await c.SendFrameAsync(msg);
        Assert.Null(await c.ReceiveFrameAsync());
    }

    [Fact]
    public async Task UnknownCommand_GetsInvalidParameter_AndTheConnectionSurvives()
    {
        var c = await LoggedOnAsync();
        var r = await c.RequestAsync((SmbCommand)0x99, new byte[] { 4, 0, 0, 0 });
        Assert.Equal(NtStatus.InvalidParameter, r.Status);
        Assert.Equal(NtStatus.Success, (await c.EchoAsync()).Status);
    }

    [Fact]
    public async Task Smb1NegotiateOfferingSmb2_IsAnsweredWithSmb2Wildcard()
    {
        var (pipe, _) = _server.Connect();
        var c = new TestSmbClient(pipe);
        var dialects = Encoding.ASCII.GetBytes("\u0002NT LM 0.12\0\u0002SMB 2.002\0\u0002SMB 2.???\0");
        var smb1 = new byte[35 + dialects.Length];
        smb1[0] = 0xFF; smb1[1] = (byte)'S'; smb1[2] = (byte)'M'; smb1[3] = (byte)'B'; smb1[4] = 0x72;
        BinaryPrimitives.WriteUInt16LittleEndian(smb1.AsSpan(33), (ushort)dialects.Length);
        dialects.CopyTo(smb1, 35);
        await c.SendFrameAsync(smb1);
        var f = await c.ReceiveFrameAsync();
        Assert.NotNull(f);
        var r = TestSmbClient.Parse(f!);
        Assert.Equal(SmbCommand.Negotiate, r.Command);
        Assert.Equal((ushort)0x02FF, BinaryPrimitives.ReadUInt16LittleEndian(r.Body[4..]));
    }
}
