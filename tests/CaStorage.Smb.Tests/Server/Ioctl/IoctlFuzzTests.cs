using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Server.Handlers;

namespace CaStorage.Smb.Tests.Server.Ioctl;

/// <summary>
/// Mutated FSCTL requests (input buffers, lengths, offsets, control codes) against real handles: every one is
/// answered, no handler throws, and the connection keeps working.
/// </summary>
public sealed class IoctlFuzzTests : IDisposable
{
    private readonly TestServer _server = new();
    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task MutatedFsctls_AreAnswered_WithoutHandlerFaults()
    {
        var (pipe, _) = _server.Connect();
        var c = new TestSmbClient(pipe);
        await c.NegotiateAsync(0x0311);
        await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        await c.TreeConnectAsync(@"\\server\share");
        var (_, src) = await c.CreateAsync("src.bin", AccessMask.FileAllAccess);
        await c.WriteAsync(src, 0, new byte[70_000]);
        var (_, dst) = await c.CreateAsync("dst.bin", AccessMask.FileAllAccess);
        var (_, dir) = await c.CreateAsync("dir", AccessMask.FileAllAccess, options: CreateOptions.DirectoryFile);
        var key = await c.IoctlAsync(src, IoctlHandler.FsctlSrvRequestResumeKey, maxOutput: 32);
        var copy = new byte[32 + 2 * 24];
        TestSmbClient.IoctlOutput(key).AsSpan(0, 24).CopyTo(copy);
        copy[24] = 2;
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(48), 4096);
        BinaryPrimitives.WriteInt64LittleEndian(copy.AsSpan(56), 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(72), 4096);
        var range = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(range.AsSpan(8), 70_000);
        var zero = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(zero, 100);
        BinaryPrimitives.WriteInt64LittleEndian(zero.AsSpan(8), 5000);

        (uint Code, byte[] Input)[] corpus =
        [
            (IoctlHandler.FsctlSrvCopyChunk, copy), (IoctlHandler.FsctlSrvCopyChunkWrite, copy),
            (IoctlHandler.FsctlQueryAllocatedRanges, range), (IoctlHandler.FsctlSetZeroData, zero),
            (IoctlHandler.FsctlSetSparse, [1]), (IoctlHandler.FsctlSetSparse, []), (IoctlHandler.FsctlSetCompression, [0, 0]),
            (IoctlHandler.FsctlGetCompression, []), (IoctlHandler.FsctlSrvRequestResumeKey, []),
        ];
        byte[][] handles = [src, dst, dir, TestSmbClient.NoFileId, new byte[16]];
        var rng = new Random(4242);
        for (var i = 0; i < 20_000; i++)
        {
            var (code, seed) = corpus[rng.Next(corpus.Length)];
            var input = (byte[])seed.Clone();
            switch (rng.Next(4))
            {
                case 0 when input.Length > 0:
                    for (var k = rng.Next(1, 4); k > 0; k--) input[rng.Next(input.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when input.Length >= 8:
                    var at = rng.Next(input.Length - 7);
                    long[] vals = [0, 1, -1, long.MaxValue, long.MinValue, 4096, 70_000, 0xFFFFFFFF];
                    BinaryPrimitives.WriteInt64LittleEndian(input.AsSpan(at), vals[rng.Next(vals.Length)]);
                    break;
                case 2:
                    input = input[..rng.Next(input.Length + 1)];
                    break;
            }
            uint[] maxOuts = [0, 1, 11, 12, 15, 16, 32, 1024, 65536];
            var r = await c.IoctlAsync(handles[rng.Next(handles.Length)], code, input, maxOuts[rng.Next(maxOuts.Length)]);
            Assert.Equal(SmbCommand.Ioctl, r.Command);
            Assert.NotEqual(NtStatus.InternalError, r.Status);
        }
        Assert.Empty(_server.Logs.Errors);
        Assert.Equal(NtStatus.Success, (await c.EchoAsync()).Status);
    }
}
