using System.Buffers.Binary;
using System.Text;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Security;
using CaStorage.Smb.Server;

namespace CaStorage.Smb.Tests.Server;

/// <summary>In-memory transcripts of SMB 3.x encryption: cipher negotiation, encrypted exchanges, policies.</summary>
public sealed class EncryptionTranscriptTests : IDisposable
{
    private const uint CapEncryption = 0x40;
    private const ushort SessionFlagEncryptData = 0x4;
    private const uint ShareFlagEncryptData = 0x8000;

    private TestServer _server = new();

    public void Dispose() => _server.Dispose();

    private void UseServer(SmbEncryptionMode mode)
    {
        _server.Dispose();
        _server = new TestServer(new SmbServerSettings { Encryption = mode });
    }

    private void AddEncryptedShare()
    {
        Assert.True(_server.Context.TryGetShare("share", out var share));
        _server.Context.AddOrUpdateShare(share with { Name = "secret", EncryptData = true });
    }

    private TestSmbClient Connect() => new(_server.Connect().Client);

    private static uint Capabilities(TestSmbClient.Response negotiate) => BinaryPrimitives.ReadUInt32LittleEndian(negotiate.Body[24..]);

    /// <summary>The cipher of the SMB2_ENCRYPTION_CAPABILITIES context of a NEGOTIATE response, or null without one.</summary>
    private static ushort? ResponseCipher(TestSmbClient.Response negotiate)
    {
        var count = BinaryPrimitives.ReadUInt16LittleEndian(negotiate.Body[6..]);
        var off = (int)BinaryPrimitives.ReadUInt32LittleEndian(negotiate.Body[60..]);
        // MS-SMB2 2.2.4: NegotiateContextOffset is 8-byte aligned from the start of the SMB2 header.
        Assert.Equal(0, off % 8);
        var m = negotiate.Message;
        for (var i = 0; i < count; i++)
        {
            off = (off + 7) & ~7;
            var type = BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(off));
            var len = BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(off + 2));
            if (type == 2)
            {
                Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(off + 8)));
                return BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(off + 10));
            }
            off += 8 + len;
        }
        return null;
    }

    private static ushort SessionFlags(TestSmbClient.Response sessionSetup) => BinaryPrimitives.ReadUInt16LittleEndian(sessionSetup.Body[2..]);

    private static uint ShareFlags(TestSmbClient.Response treeConnect) => BinaryPrimitives.ReadUInt32LittleEndian(treeConnect.Body[4..]);

    private static void AssertNotSigned(TestSmbClient.Response r)
    {
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(r.Message.AsSpan(16)) & 0x8);
        Assert.True(r.Message.AsSpan(48, 16).IndexOfAnyExcept((byte)0) < 0, "an encrypted message carries a signature");
    }

    /// <summary>Create, write, read back and close, every response checked to have come encrypted.</summary>
    private static async Task WriteReadEncryptedAsync(TestSmbClient c, string name, int size = 5000)
    {
        var data = Enumerable.Range(0, size).Select(i => (byte)(i * 7)).ToArray();
        var (create, fid) = await c.CreateAsync(name, disposition: CreateDisposition.OverwriteIf);
        Assert.Equal(NtStatus.Success, create.Status);
        Assert.True(c.LastResponseEncrypted);
        AssertNotSigned(create);
        var w = await c.WriteAsync(fid, 0, data);
        Assert.Equal(NtStatus.Success, w.Status);
        Assert.True(c.LastResponseEncrypted);
        var rd = await c.ReadAsync(fid, 0, size);
        Assert.Equal(NtStatus.Success, rd.Status);
        Assert.True(c.LastResponseEncrypted);
        var len = BinaryPrimitives.ReadInt32LittleEndian(rd.Body[4..]);
        Assert.Equal(data, rd.Message.AsSpan(rd.Body[2], len).ToArray());
        Assert.Equal(NtStatus.Success, (await c.CloseAsync(fid)).Status);
        Assert.True(c.LastResponseEncrypted);
    }

    [Theory]
    [InlineData((ushort)0x0300)]
    [InlineData((ushort)0x0302)]
    public async Task Smb30_WithEncryptionCapability_UsesAes128Ccm(ushort dialect)
    {
        var c = Connect();
        var n = await c.NegotiateAsync([dialect], CapEncryption, null);
        Assert.Equal(NtStatus.Success, n.Status);
        Assert.NotEqual(0u, Capabilities(n) & CapEncryption);
        var s = await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        Assert.Equal(NtStatus.Success, s.Status);
        Assert.Equal(0, SessionFlags(s) & SessionFlagEncryptData); // "Enabled": the client decides
        c.StartEncryption(dialect, SmbCipher.Aes128Ccm);

        var t = await c.TreeConnectAsync(@"\\server\share");
        Assert.Equal(NtStatus.Success, t.Status);
        Assert.True(c.LastResponseEncrypted);
        await WriteReadEncryptedAsync(c, "ccm.bin");
        Assert.Empty(_server.Logs.Errors);
    }

    [Fact]
    public async Task Smb30_WithoutEncryptionCapability_IsNotOfferedEncryption()
    {
        var c = Connect();
        var n = await c.NegotiateAsync([0x0302], 0, null);
        Assert.Equal(0u, Capabilities(n) & CapEncryption);
    }

    [Theory]
    [InlineData((ushort)1)]
    [InlineData((ushort)2)]
    [InlineData((ushort)3)]
    [InlineData((ushort)4)]
    public async Task Smb311_EachCipher_NegotiatedAndUsed(ushort cipher)
    {
        var c = Connect();
        var n = await c.NegotiateAsync([0x0311], CapEncryption, [cipher]);
        Assert.Equal(NtStatus.Success, n.Status);
        Assert.Equal(cipher, ResponseCipher(n));
        // 3.1.1 announces encryption through the context only.
        Assert.Equal(0u, Capabilities(n) & CapEncryption);
        Assert.Equal(NtStatus.Success, (await c.SessionSetupAsync(TestServer.User, TestServer.Password)).Status);
        c.StartEncryption(0x0311, (SmbCipher)cipher);

        Assert.Equal(NtStatus.Success, (await c.TreeConnectAsync(@"\\server\share")).Status);
        Assert.True(c.LastResponseEncrypted);
        await WriteReadEncryptedAsync(c, $"cipher{cipher}.bin", 70000);
        var echo = await c.EchoAsync();
        Assert.Equal(NtStatus.Success, echo.Status);
        Assert.True(c.LastResponseEncrypted);
        Assert.Empty(_server.Logs.Errors);
    }

    [Fact]
    public async Task Smb311_CipherChoice_FollowsServerPreference_AndNoneInCommonIsZero()
    {
        var c = Connect();
        Assert.Equal((ushort)2, ResponseCipher(await c.NegotiateAsync([0x0311], 0, [4, 3, 1, 2])));
        var d = Connect();
        Assert.Equal((ushort)0, ResponseCipher(await d.NegotiateAsync([0x0311], 0, [7, 9])));
    }

    [Fact]
    public async Task EncryptedCompound_IsAnsweredInOneTransform()
    {
        var c = Connect();
        await c.NegotiateAsync([0x0311], 0, [2]);
        await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        c.StartEncryption(0x0311, SmbCipher.Aes128Gcm);
        await c.TreeConnectAsync(@"\\server\share");

        var data = Encoding.ASCII.GetBytes("compound under one transform");
        var create = c.Build(SmbCommand.Create, TestSmbClient.CreateBody("compound.txt", AccessMask.GenericRead | AccessMask.GenericWrite,
            ShareAccess.All, CreateDisposition.OverwriteIf, CreateOptions.None));
        var writeBody = new byte[48 + data.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(writeBody, 49);
        BinaryPrimitives.WriteUInt16LittleEndian(writeBody.AsSpan(2), SmbHeader.Size + 48);
        BinaryPrimitives.WriteUInt32LittleEndian(writeBody.AsSpan(4), (uint)data.Length);
        writeBody.AsSpan(16, 16).Fill(0xFF); // the FileId of the CREATE before
        data.CopyTo(writeBody, 48);
        var write = c.Build(SmbCommand.Write, writeBody);
        var closeBody = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(closeBody, 24);
        closeBody.AsSpan(8, 16).Fill(0xFF);
        var close = c.Build(SmbCommand.Close, closeBody);
        var frame = Compound(create, write, close);

        await c.SendFrameAsync(frame);
        var response = await c.ReceiveMessageAsync();
        Assert.NotNull(response);
        Assert.True(c.LastResponseEncrypted);
        var statuses = new List<(SmbCommand, NtStatus)>();
        var off = 0;
        while (true)
        {
            var r = TestSmbClient.Parse(response![off..]);
            statuses.Add((r.Command, r.Status));
            AssertNotSigned(r);
            var next = BinaryPrimitives.ReadUInt32LittleEndian(response.AsSpan(off + 20));
            if (next == 0) break;
            Assert.Equal(0u, next % 8); // MS-SMB2 3.3.4.1.3: each response of a compound starts 8-byte aligned
            off += (int)next;
        }
        Assert.Equal([(SmbCommand.Create, NtStatus.Success), (SmbCommand.Write, NtStatus.Success), (SmbCommand.Close, NtStatus.Success)], statuses);
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(_server.Root, "compound.txt")));
    }

    /// <summary>Chains messages: 8-byte aligned, NextCommand set, all but the first related.</summary>
    private static byte[] Compound(params byte[][] messages)
    {
        var total = 0;
        foreach (var m in messages) total = ((total + 7) & ~7) + m.Length;
        var frame = new byte[total];
        var at = 0;
        for (var i = 0; i < messages.Length; i++)
        {
            at = (at + 7) & ~7;
            messages[i].CopyTo(frame, at);
            if (i > 0) BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(at + 16), BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(at + 16)) | 0x4);
            if (i + 1 < messages.Length)
                BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(at + 20), (uint)(((messages[i].Length + 7) & ~7)));
            at += messages[i].Length;
        }
        return frame;
    }

    [Fact]
    public async Task TamperedTransform_DropsTheConnection()
    {
        var c = Connect();
        await c.NegotiateAsync([0x0311], 0, [1]);
        await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        c.StartEncryption(0x0311, SmbCipher.Aes128Ccm);
        var echo = c.Build(SmbCommand.Echo, [4, 0, 0, 0]);
        var wire = new byte[SmbTransformCodec.TransformedLength(echo.Length)];
        c.Encryption!.Encrypt(echo, wire);
        wire[^1] ^= 0x80; // one ciphertext bit

        c.EncryptRequests = false;
        await c.SendFrameAsync(wire);
        Assert.Null(await c.ReceiveFrameAsync());
    }

    [Fact]
    public async Task TransformForUnknownSession_DropsTheConnection()
    {
        var c = Connect();
        await c.NegotiateAsync([0x0311], 0, [2]);
        await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        using var stranger = new SmbTransformCodec(c.SessionId ^ 1, SmbCipher.Aes128Gcm, new byte[16], new byte[16]);
        c.Encryption = stranger;
        await c.SendFrameAsync(c.Build(SmbCommand.Echo, [4, 0, 0, 0]));
        Assert.Null(await c.ReceiveFrameAsync());
    }

    [Fact]
    public async Task TransformWithoutNegotiatedCipher_DropsTheConnection()
    {
        var c = Connect();
        await c.NegotiateAsync([0x0311], 0, null);
        await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        c.Encryption = new SmbTransformCodec(c.SessionId, SmbCipher.Aes128Gcm, new byte[16], new byte[16]);
        await c.SendFrameAsync(c.Build(SmbCommand.Echo, [4, 0, 0, 0]));
        Assert.Null(await c.ReceiveFrameAsync());
    }

    [Fact]
    public async Task Enabled_ClientThatDoesNotEncrypt_StaysPlain()
    {
        var c = Connect();
        await c.NegotiateAsync([0x0311], 0, [2, 1]);
        await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        var t = await c.TreeConnectAsync(@"\\server\share");
        Assert.Equal(NtStatus.Success, t.Status);
        Assert.False(c.LastResponseEncrypted);
        Assert.Equal(0u, ShareFlags(t) & ShareFlagEncryptData);
        var (create, fid) = await c.CreateAsync("plain.txt");
        Assert.Equal(NtStatus.Success, create.Status);
        Assert.False(c.LastResponseEncrypted);
        await c.CloseAsync(fid);
    }

    [Fact]
    public async Task Required_SessionMustEncrypt_AndPlainRequestsAreRefused()
    {
        UseServer(SmbEncryptionMode.Required);
        var c = Connect();
        await c.NegotiateAsync([0x0311], 0, [2]);
        var s = await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        Assert.Equal(NtStatus.Success, s.Status);
        Assert.NotEqual(0, SessionFlags(s) & SessionFlagEncryptData);
        c.StartEncryption(0x0311, SmbCipher.Aes128Gcm);

        // MS-SMB2 3.3.5.2.9: a plain request on a session that requires encryption is refused (the error comes encrypted).
        c.EncryptRequests = false;
        var plain = await c.TreeConnectAsync(@"\\server\share");
        Assert.Equal(NtStatus.AccessDenied, plain.Status);
        Assert.True(c.LastResponseEncrypted);

        c.EncryptRequests = true;
        Assert.Equal(NtStatus.Success, (await c.TreeConnectAsync(@"\\server\share")).Status);
        await WriteReadEncryptedAsync(c, "required.bin");
    }

    [Theory]
    [InlineData((ushort)0x0210, 0u)]
    [InlineData((ushort)0x0302, 0u)]
    [InlineData((ushort)0x0311, 0u)]
    public async Task Required_ClientsThatCannotEncrypt_AreRefusedAtSessionSetup(ushort dialect, uint capabilities)
    {
        UseServer(SmbEncryptionMode.Required);
        var c = Connect();
        Assert.Equal(NtStatus.Success, (await c.NegotiateAsync([dialect], capabilities, null)).Status);
        Assert.Equal(NtStatus.AccessDenied, (await c.SessionSetupAsync(TestServer.User, TestServer.Password)).Status);
    }

    [Fact]
    public async Task Desired_SessionIsAskedToEncrypt_AndResponsesAreEncrypted()
    {
        UseServer(SmbEncryptionMode.Desired);
        var c = Connect();
        await c.NegotiateAsync([0x0302], CapEncryption, null);
        var s = await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        Assert.Equal(NtStatus.Success, s.Status);
        Assert.NotEqual(0, SessionFlags(s) & SessionFlagEncryptData);
        c.StartEncryption(0x0302, SmbCipher.Aes128Ccm);
        // Desired does not refuse a plain request, but Session.EncryptData encrypts the response (MS-SMB2 3.3.4.1.4).
        c.EncryptRequests = false;
        Assert.Equal(NtStatus.Success, (await c.TreeConnectAsync(@"\\server\share")).Status);
        Assert.True(c.LastResponseEncrypted);

        // A client that cannot encrypt still gets in.
        var old = Connect();
        await old.NegotiateAsync([0x0210], 0, null);
        var s2 = await old.SessionSetupAsync(TestServer.User, TestServer.Password);
        Assert.Equal(NtStatus.Success, s2.Status);
        Assert.Equal(0, SessionFlags(s2) & SessionFlagEncryptData);
    }

    [Fact]
    public async Task EncryptedShare_FlagsTheShare_RefusesPlainRequests_AndClientsWithoutCipher()
    {
        AddEncryptedShare();
        var c = Connect();
        await c.NegotiateAsync([0x0311], 0, [1, 2]);
        var s = await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        Assert.Equal(0, SessionFlags(s) & SessionFlagEncryptData);
        var t = await c.TreeConnectAsync(@"\\server\secret");
        Assert.Equal(NtStatus.Success, t.Status);
        Assert.NotEqual(0u, ShareFlags(t) & ShareFlagEncryptData);
        // TREE_CONNECT itself is not encrypted for Share.EncryptData (MS-SMB2 3.3.4.1.4).
        Assert.False(c.LastResponseEncrypted);

        // A plain request on the share is refused, and the refusal comes encrypted (the tree's share requires it).
        c.StartEncryption(0x0311, SmbCipher.Aes128Gcm);
        c.EncryptRequests = false;
        var refused = await c.RequestAsync(SmbCommand.Create, TestSmbClient.CreateBody("x.txt", AccessMask.GenericRead, ShareAccess.All,
            CreateDisposition.OpenIf, CreateOptions.None));
        Assert.Equal(NtStatus.AccessDenied, refused.Status);
        Assert.True(c.LastResponseEncrypted);

        c.EncryptRequests = true;
        await WriteReadEncryptedAsync(c, "secret.bin");

        // Without a cipher the share cannot be reached at all.
        var d = Connect();
        await d.NegotiateAsync([0x0311], 0, null);
        await d.SessionSetupAsync(TestServer.User, TestServer.Password);
        Assert.Equal(NtStatus.AccessDenied, (await d.TreeConnectAsync(@"\\server\secret")).Status);
        Assert.Equal(NtStatus.Success, (await d.TreeConnectAsync(@"\\server\share")).Status);
    }

    [Fact]
    public async Task Off_NegotiatesNoCipher()
    {
        UseServer(SmbEncryptionMode.Off);
        var c = Connect();
        Assert.Equal((ushort)0, ResponseCipher(await c.NegotiateAsync([0x0311], 0, [2, 1])));
        var d = Connect();
        Assert.Equal(0u, Capabilities(await d.NegotiateAsync([0x0302], CapEncryption, null)) & CapEncryption);
    }
}
