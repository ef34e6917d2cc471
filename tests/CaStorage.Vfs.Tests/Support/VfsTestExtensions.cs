using CaStorage.Core;

namespace CaStorage.Vfs.Tests.Support;

public static class VfsTestExtensions
{
    public static ValueTask<VfsResult<VfsOpenResult>> OpenAsync(this VfsTreeContext tree, string path,
        CreateDisposition disposition = CreateDisposition.Open,
        CreateOptions options = CreateOptions.None,
        AccessMask access = AccessMask.FileGenericRead,
        NtFileAttributes attributes = NtFileAttributes.None) =>
        tree.Ops.OpenAsync(tree, new VfsOpenRequest
        {
            Path = path,
            Disposition = disposition,
            Options = options,
            Access = access,
            Attributes = attributes,
        }, CancellationToken.None);

    public static async Task<VfsFile> OpenOkAsync(this VfsTreeContext tree, string path,
        CreateDisposition disposition = CreateDisposition.Open,
        CreateOptions options = CreateOptions.None,
        AccessMask access = AccessMask.FileGenericRead | AccessMask.FileGenericWrite,
        NtFileAttributes attributes = NtFileAttributes.None)
    {
        var r = await tree.OpenAsync(path, disposition, options, access, attributes);
        Assert.True(r.IsSuccess, $"open '{path}' {disposition}: {r.Status.ToWireName()}");
        return r.Value!.File;
    }

    public static async Task CreateFileAsync(this VfsTreeContext tree, string path, string content = "", NtFileAttributes attributes = NtFileAttributes.None)
    {
        var f = await tree.OpenOkAsync(path, CreateDisposition.Create, CreateOptions.NonDirectoryFile, attributes: attributes);
        try
        {
            if (content.Length > 0)
            {
                var w = await tree.Ops.WriteAsync(f, 0, System.Text.Encoding.UTF8.GetBytes(content), false, CancellationToken.None);
                Assert.Equal(NtStatus.Success, w.Status);
            }
        }
        finally
        {
            await tree.Ops.CloseAsync(f);
        }
    }

    public static async Task CreateDirectoryAsync(this VfsTreeContext tree, string path)
    {
        var f = await tree.OpenOkAsync(path, CreateDisposition.Create, CreateOptions.DirectoryFile, AccessMask.FileGenericRead);
        await tree.Ops.CloseAsync(f);
    }

    public static async Task<string> ReadAllTextAsync(this VfsTreeContext tree, VfsFile file)
    {
        var buffer = new byte[1 << 16];
        var r = await tree.Ops.ReadAsync(file, 0, buffer, CancellationToken.None);
        Assert.Equal(NtStatus.Success, r.Status);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, r.Value);
    }
}
