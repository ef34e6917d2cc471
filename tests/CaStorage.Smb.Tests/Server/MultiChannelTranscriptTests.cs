using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Security.Cryptography;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Security;
using CaStorage.Smb.Server;

namespace CaStorage.Smb.Tests.Server;

/// <summary>
/// In-memory transcripts of SMB 3.x multichannel (MS-SMB2 3.3.5.5.2): binding a second connection to a session,
/// per-channel signing, the session's opens reached from every channel, and the session outliving one channel.
/// </summary>
public sealed class MultiChannelTranscriptTests : IDisposable
{
    private const uint CapMultiChannel = 0x8;
    private const SigningAlgorithm Cmac = SigningAlgorithm.AesCmac;

    private TestServer _server = new();

    public void Dispose() => _server.Dispose();

    private sealed record Channel(TestSmbClient Client, IDuplexPipe Pipe, Task Server)
    {
        /// <summary>Ends the connection from the client side and waits for the server to tear it down.</summary>
        public async Task CloseAsync()
        {
            await Pipe.Output.CompleteAsync();
            await Server.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private Channel Connect()
    {
        var (pipe, server) = _server.Connect();
        return new Channel(new TestSmbClient(pipe), pipe, server);
    }

    /// <summary>A first channel: negotiated, authenticated (its requests signed with Session.SigningKey) and tree-connected.</summary>
    private async Task<(Channel Channel, byte[] SessionSigningKey)> EstablishAsync(ushort dialect, ushort[]? ciphers = null)
    {
        var ch = Connect();
        var c = ch.Client;
        Assert.Equal(NtStatus.Success, (await c.NegotiateAsync([dialect], 0, ciphers)).Status);
        Assert.Equal(NtStatus.Success, (await c.SessionSetupAsync(TestServer.User, TestServer.Password)).Status);
        var key = SmbSessionKeys.Derive(dialect, c.SessionKey!, dialect == 0x0311 ? c.PreauthHash : null).Signing;
        c.SigningKey = key;
        c.SigningAlgorithm = Cmac;
        Assert.Equal(NtStatus.Success, (await c.TreeConnectAsync(@"\\server\share")).Status);
        return (ch, key);
    }

    /// <summary>A second connection bound to <paramref name="first"/>'s session; its requests signed with its own channel key.</summary>
    private async Task<Channel> BindAsync(TestSmbClient first, byte[] sessionSigningKey, ushort dialect, ushort[]? ciphers = null)
    {
        var ch = Connect();
        var c = ch.Client;
        Assert.Equal(NtStatus.Success, (await c.NegotiateAsync([dialect], 0, ciphers)).Status);
        c.SessionId = first.SessionId;
        c.TreeId = first.TreeId;
        var bind = await c.BindAsync(TestServer.User, TestServer.Password, dialect, sessionSigningKey, Cmac);
        Assert.Equal(NtStatus.Success, bind.Status);
        Assert.Equal(first.SessionId, bind.SessionId);
        // The final binding response is signed with the new channel's key, not the session's.
        Assert.True(IsSigned(bind));
        Assert.True(SmbSigning.Verify(Cmac, c.ChannelSigningKey!, bind.Message));
        Assert.NotEqual(sessionSigningKey, c.ChannelSigningKey);
        c.SigningKey = c.ChannelSigningKey;
        c.SigningAlgorithm = Cmac;
        return ch;
    }

    private static bool IsSigned(TestSmbClient.Response r) => (BinaryPrimitives.ReadUInt32LittleEndian(r.Message.AsSpan(16)) & 0x8) != 0;

    private static byte[] ReadData(TestSmbClient.Response read)
    {
        var len = BinaryPrimitives.ReadInt32LittleEndian(read.Body[4..]);
        return read.Message.AsSpan(read.Body[2], len).ToArray();
    }

    [Theory]
    [InlineData((ushort)0x0300)]
    [InlineData((ushort)0x0302)]
    [InlineData((ushort)0x0311)]
    public async Task Negotiate_Smb3_AdvertisesMultiChannel(ushort dialect)
    {
        var r = await Connect().Client.NegotiateAsync([dialect], 0, null);
        Assert.NotEqual(0u, BinaryPrimitives.ReadUInt32LittleEndian(r.Body[24..]) & CapMultiChannel);
    }

    [Fact]
    public async Task Negotiate_Smb21_DoesNotAdvertiseMultiChannel()
    {
        var r = await Connect().Client.NegotiateAsync([0x0210], 0, null);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(r.Body[24..]) & CapMultiChannel);
    }

    [Theory]
    [InlineData((ushort)0x0302)]
    [InlineData((ushort)0x0311)]
    public async Task Bind_SecondConnection_SharesOpens_AndOutlivesTheFirst(ushort dialect)
    {
        var (first, sessionKey) = await EstablishAsync(dialect);
        var c1 = first.Client;
        var data = Enumerable.Range(0, 3000).Select(i => (byte)(i * 13)).ToArray();
        var (create, fid) = await c1.CreateAsync("channels.bin", disposition: CreateDisposition.OverwriteIf);
        Assert.Equal(NtStatus.Success, create.Status);
        Assert.Equal(NtStatus.Success, (await c1.WriteAsync(fid, 0, data)).Status);

        var second = await BindAsync(c1, sessionKey, dialect);
        var c2 = second.Client;
        Assert.Equal(1, _server.Context.SessionCount);

        // The open made on the first channel is reached through the second; responses are signed with each channel's key.
        var read = await c2.ReadAsync(fid, 0, data.Length);
        Assert.Equal(NtStatus.Success, read.Status);
        Assert.Equal(data, ReadData(read));
        Assert.True(SmbSigning.Verify(Cmac, c2.ChannelSigningKey!, read.Message));
        var read1 = await c1.ReadAsync(fid, 0, 10);
        Assert.True(SmbSigning.Verify(Cmac, sessionKey, read1.Message));

        // A FileId opened on the second channel is usable on the first.
        var (create2, fid2) = await c2.CreateAsync("second.bin", disposition: CreateDisposition.OverwriteIf);
        Assert.Equal(NtStatus.Success, create2.Status);
        Assert.Equal(NtStatus.Success, (await c1.CloseAsync(fid2)).Status);

        // The first connection goes; the session, its tree and its open live on through the second.
        await first.CloseAsync();
        Assert.Equal(1, _server.Context.SessionCount);
        read = await c2.ReadAsync(fid, 0, data.Length);
        Assert.Equal(NtStatus.Success, read.Status);
        Assert.Equal(data, ReadData(read));
        Assert.Equal(NtStatus.Success, (await c2.WriteAsync(fid, data.Length, [1, 2, 3])).Status);
        Assert.Equal(NtStatus.Success, (await c2.CloseAsync(fid)).Status);
        var (reopen, fid3) = await c2.CreateAsync("channels.bin", disposition: CreateDisposition.Open);
        Assert.Equal(NtStatus.Success, reopen.Status);
        Assert.Equal(NtStatus.Success, (await c2.CloseAsync(fid3)).Status);

        // With its last channel gone the session ends.
        await second.CloseAsync();
        Assert.Equal(0, _server.Context.SessionCount);
        Assert.Empty(_server.Logs.Errors);
    }

    [Fact]
    public async Task Bind_EncryptedSession_BoundChannelDecryptsAndEncryptsWithTheSessionKeys()
    {
        ushort[] gcm = [(ushort)SmbCipher.Aes128Gcm];
        var (first, key) = await EstablishAsync(0x0311, gcm);
        var c1 = first.Client;
        c1.StartEncryption(0x0311, SmbCipher.Aes128Gcm);
        var (create, fid) = await c1.CreateAsync("sealed.bin", disposition: CreateDisposition.OverwriteIf);
        Assert.Equal(NtStatus.Success, create.Status);
        Assert.True(c1.LastResponseEncrypted);
        Assert.Equal(NtStatus.Success, (await c1.WriteAsync(fid, 0, [1, 2, 3, 4])).Status);

        // The binding itself is signed, not encrypted; afterwards the channel carries the session's transforms.
        var second = await BindAsync(c1, key, 0x0311, gcm);
        var c2 = second.Client;
        c2.Encryption = c1.Encryption;
        var read = await c2.ReadAsync(fid, 0, 4);
        Assert.Equal(NtStatus.Success, read.Status);
        Assert.True(c2.LastResponseEncrypted);
        Assert.Equal([1, 2, 3, 4], ReadData(read));

        await first.CloseAsync();
        Assert.Equal(NtStatus.Success, (await c2.CloseAsync(fid)).Status);
        Assert.True(c2.LastResponseEncrypted);
        Assert.Empty(_server.Logs.Errors);
    }

    [Fact]
    public async Task Bind_OtherCipher_IsInvalidParameter()
    {
        var (first, key) = await EstablishAsync(0x0311, [(ushort)SmbCipher.Aes128Gcm]);
        var other = Connect().Client;
        await other.NegotiateAsync([0x0311], 0, [(ushort)SmbCipher.Aes128Ccm]);
        other.SessionId = first.Client.SessionId;
        var bind = await other.BindAsync(TestServer.User, TestServer.Password, 0x0311, key, Cmac);
        Assert.Equal(NtStatus.InvalidParameter, bind.Status);
    }

    [Fact]
    public async Task Bind_WithWrongSignature_IsAccessDenied_AndTheSessionIsUntouched()
    {
        var (first, _) = await EstablishAsync(0x0311);
        var c1 = first.Client;
        var (create, fid) = await c1.CreateAsync("kept.bin", disposition: CreateDisposition.OverwriteIf);
        Assert.Equal(NtStatus.Success, create.Status);

        var other = Connect().Client;
        await other.NegotiateAsync([0x0311], 0, null);
        other.SessionId = c1.SessionId;
        other.TreeId = c1.TreeId;
        var bind = await other.BindAsync(TestServer.User, TestServer.Password, 0x0311, RandomNumberGenerator.GetBytes(16), Cmac);
        Assert.Equal(NtStatus.AccessDenied, bind.Status);

        // Not bound: the second connection does not reach the session ...
        other.SigningKey = null;
        Assert.Equal(NtStatus.UserSessionDeleted, (await other.ReadAsync(fid, 0, 1)).Status);
        // ... and the first still does.
        Assert.Equal(NtStatus.Success, (await c1.WriteAsync(fid, 0, [7])).Status);
        Assert.Equal(NtStatus.Success, (await c1.CloseAsync(fid)).Status);
        Assert.Equal(1, _server.Context.SessionCount);
    }

    [Fact]
    public async Task Bind_Unsigned_IsInvalidParameter()
    {
        var (first, _) = await EstablishAsync(0x0302);
        var other = Connect().Client;
        await other.NegotiateAsync([0x0302], 0, null);
        other.SessionId = first.Client.SessionId;
        var bind = await other.BindAsync(TestServer.User, TestServer.Password, 0x0302, null, Cmac);
        Assert.Equal(NtStatus.InvalidParameter, bind.Status);
    }

    [Fact]
    public async Task Bind_OtherDialect_IsInvalidParameter()
    {
        var (first, key) = await EstablishAsync(0x0311);
        var other = Connect().Client;
        await other.NegotiateAsync([0x0302], 0, null);
        other.SessionId = first.Client.SessionId;
        var bind = await other.BindAsync(TestServer.User, TestServer.Password, 0x0302, key, Cmac);
        Assert.Equal(NtStatus.InvalidParameter, bind.Status);
        // The refusal is signed with the session's key (the channel has none).
        Assert.True(SmbSigning.Verify(Cmac, key, bind.Message));
    }

    [Fact]
    public async Task Bind_Smb21_IsRequestNotAccepted()
    {
        var ch = Connect();
        var c1 = ch.Client;
        await c1.NegotiateAsync([0x0210], 0, null);
        Assert.Equal(NtStatus.Success, (await c1.SessionSetupAsync(TestServer.User, TestServer.Password)).Status);
        var other = Connect().Client;
        await other.NegotiateAsync([0x0210], 0, null);
        other.SessionId = c1.SessionId;
        var bind = await other.BindAsync(TestServer.User, TestServer.Password, 0x0210, c1.SessionKey!, SigningAlgorithm.HmacSha256);
        Assert.Equal(NtStatus.RequestNotAccepted, bind.Status);
    }

    [Fact]
    public async Task Bind_UnknownSession_IsUserSessionDeleted()
    {
        await EstablishAsync(0x0311);
        var other = Connect().Client;
        await other.NegotiateAsync([0x0311], 0, null);
        other.SessionId = 0x1234;
        var bind = await other.BindAsync(TestServer.User, TestServer.Password, 0x0311, RandomNumberGenerator.GetBytes(16), Cmac);
        Assert.Equal(NtStatus.UserSessionDeleted, bind.Status);
    }

    [Fact]
    public async Task Bind_WhenDisabled_FindsNoSession_AndIsNotAdvertised()
    {
        _server.Dispose();
        _server = new TestServer(new SmbServerSettings { MultiChannel = false });
        var (first, key) = await EstablishAsync(0x0311);
        var other = Connect().Client;
        var n = await other.NegotiateAsync([0x0311], 0, null);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(n.Body[24..]) & CapMultiChannel);
        other.SessionId = first.Client.SessionId;
        var bind = await other.BindAsync(TestServer.User, TestServer.Password, 0x0311, key, Cmac);
        Assert.Equal(NtStatus.UserSessionDeleted, bind.Status);
    }

    [Fact]
    public async Task Logoff_OnOneChannel_EndsTheSessionOnAll()
    {
        var (first, key) = await EstablishAsync(0x0311);
        var c1 = first.Client;
        var second = await BindAsync(c1, key, 0x0311);
        var c2 = second.Client;
        var (create, fid) = await c1.CreateAsync("logoff.bin", disposition: CreateDisposition.OverwriteIf);
        Assert.Equal(NtStatus.Success, create.Status);

        var logoff = await c2.LogoffAsync();
        Assert.Equal(NtStatus.Success, logoff.Status);
        // The LOGOFF answer is signed with the key of the channel it came on.
        Assert.True(SmbSigning.Verify(Cmac, c2.ChannelSigningKey!, logoff.Message));
        Assert.Equal(NtStatus.UserSessionDeleted, (await c1.ReadAsync(fid, 0, 1)).Status);
        Assert.Equal(NtStatus.UserSessionDeleted, (await c2.ReadAsync(fid, 0, 1)).Status);
        Assert.Equal(0, _server.Context.SessionCount);
    }

    [Fact]
    public async Task Bind_SameConnectionTwice_IsRequestNotAccepted()
    {
        var (first, key) = await EstablishAsync(0x0302);
        var second = await BindAsync(first.Client, key, 0x0302);
        var again = await second.Client.BindAsync(TestServer.User, TestServer.Password, 0x0302, second.Client.ChannelSigningKey!, Cmac);
        Assert.Equal(NtStatus.RequestNotAccepted, again.Status);
    }
}
