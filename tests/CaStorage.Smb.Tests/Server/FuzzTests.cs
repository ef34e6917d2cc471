using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Tests.Server;

/// <summary>
/// Sends at least 100,000 mutated PDUs built from a corpus of valid ones; the server must answer or drop the
/// connection, never crash or hang, and still serve a valid request afterwards.
/// </summary>
public sealed class FuzzTests : IDisposable
{
    private readonly TestServer _server = new();
    public void Dispose() => _server.Dispose();

    private async Task<TestSmbClient> SessionAsync()
    {
        var (pipe, _) = _server.Connect();
        var c = new TestSmbClient(pipe);
        await c.NegotiateAsync(0x0202, 0x0210, 0x0300, 0x0302, 0x0311);
        await c.SessionSetupAsync(TestServer.User, TestServer.Password);
        await c.TreeConnectAsync(@"\\server\share");
        return c;
    }

    private async Task<List<byte[]>> CorpusAsync()
    {
        var c = await SessionAsync();
        var (_, fid) = await c.CreateAsync("corpus.bin", disposition: CreateDisposition.OverwriteIf);
        await c.WriteAsync(fid, 0, new byte[300]);
        await c.ReadAsync(fid, 0, 300);
        await c.QueryInfoAsync(fid, 1, 18);
        await c.QueryInfoAsync(fid, 2, 1);
        await c.CloseAsync(fid);
        var (_, dir) = await c.CreateAsync("", AccessMask.GenericRead, ShareAccess.All, CreateDisposition.Open, CreateOptions.DirectoryFile);
        await c.QueryDirectoryAsync(dir, "*");
        await c.CloseAsync(dir);
        await c.EchoAsync();
        File.WriteAllBytes(Path.Combine(_server.Root, "keep"), new byte[10]);
        return c.Sent;
    }

    [Fact]
    public async Task MutatedPdus_NeverCrashOrHang_AndTheServerStillAnswers()
    {
        var corpus = await CorpusAsync();
        var rng = new Random(12345);
        const int total = 100_000;
        var sent = 0;
        var drops = 0;
        var c = await SessionAsync();
        while (sent < total)
        {
            var seed = corpus[rng.Next(corpus.Count)];
            var m = (byte[])seed.Clone();
            Mutate(m, rng, out m);
            // Keep message ids valid most of the time so the mutation reaches the parsers, not the credit check.
            if (m.Length >= SmbHeader.Size && rng.Next(10) != 0)
            {
                var fresh = c.Build(SmbCommand.Echo, ReadOnlySpan<byte>.Empty);
                Array.Copy(fresh, 24, m, 24, 8);
                Array.Copy(fresh, 40, m, 40, 8);
                Array.Copy(fresh, 36, m, 36, 4);
                BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(6), 1);
                m[0] = 0xFE; m[1] = (byte)'S'; m[2] = (byte)'M'; m[3] = (byte)'B';
                if (BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(12)) == 0) BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(12), 0x0D);
                BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(20), 0);
            }
            await c.SendFrameAsync(m);
            sent++;
            // Follow every PDU with an ECHO and read until its answer, so a silent or stuck server shows as a timeout.
            await c.SendFrameAsync(c.Build(SmbCommand.Echo, new byte[] { 4, 0, 0, 0 }));
            var alive = true;
            while (true)
            {
                var f = await c.ReceiveFrameAsync(TimeSpan.FromSeconds(10));
                if (f is null) { alive = false; break; }
                var r = TestSmbClient.Parse(f);
                if (r.Command == SmbCommand.Echo && r.MessageId == BinaryPrimitives.ReadUInt64LittleEndian(c.Sent[^1].AsSpan(24)))
                {
                    alive = r.Status == NtStatus.Success;
                    break;
                }
            }
            // A mutated LOGOFF or TREE_DISCONNECT can leave the session unusable: start over now and then.
            if (!alive || sent % 2000 == 0)
            {
                drops++;
                c = await SessionAsync();
            }
        }
        Assert.True(sent >= total);
        Assert.Empty(_server.Logs.Errors);
        var final = await SessionAsync();
        Assert.Equal(NtStatus.Success, (await final.EchoAsync()).Status);
        var (cr, fid) = await final.CreateAsync("keep", AccessMask.GenericRead, ShareAccess.All, CreateDisposition.Open);
        Assert.Equal(NtStatus.Success, cr.Status);
        Assert.Equal(NtStatus.Success, (await final.ReadAsync(fid, 0, 10)).Status);
        Assert.True(drops < total, $"{drops} drops");
    }

    private static void Mutate(byte[] input, Random rng, out byte[] output)
    {
        output = input;
        switch (rng.Next(6))
        {
            case 0: // flip bits
                for (var i = rng.Next(1, 8); i > 0; i--) output[rng.Next(output.Length)] ^= (byte)(1 << rng.Next(8));
                break;
            case 1: // interesting values in the body
                {
                    var at = SmbHeader.Size + rng.Next(Math.Max(1, output.Length - SmbHeader.Size - 4));
                    var vals = new uint[] { 0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000, 64, 65 };
                    if (at + 4 <= output.Length) BinaryPrimitives.WriteUInt32LittleEndian(output.AsSpan(at), vals[rng.Next(vals.Length)]);
                    break;
                }
            case 2: // truncate
                output = input.AsSpan(0, rng.Next(input.Length)).ToArray();
                break;
            case 3: // extend with garbage
                output = new byte[input.Length + rng.Next(1, 200)];
                input.CopyTo(output, 0);
                rng.NextBytes(output.AsSpan(input.Length));
                break;
            case 4: // random bytes over a region
                {
                    var at = rng.Next(output.Length);
                    rng.NextBytes(output.AsSpan(at, Math.Min(output.Length - at, rng.Next(1, 16))));
                    break;
                }
            case 5: // 16-bit fields of the body (offsets, lengths, structure sizes)
                {
                    var at = SmbHeader.Size + 2 * rng.Next(Math.Max(1, (output.Length - SmbHeader.Size) / 2));
                    if (at + 2 <= output.Length) BinaryPrimitives.WriteUInt16LittleEndian(output.AsSpan(at), (ushort)rng.Next(65536));
                    break;
                }
        }
    }
}
