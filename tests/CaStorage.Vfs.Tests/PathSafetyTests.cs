using CaStorage.Core;
using CaStorage.Vfs.Posix;
using CaStorage.Vfs.Tests.Support;

namespace CaStorage.Vfs.Tests;

/// <summary>
/// The attack corpus: every case asserts the exact status, and that nothing outside the temporary share root
/// (the sibling "outside" directory, /etc) was created, changed or removed.
/// </summary>
public sealed class PathSafetyTests : IAsyncLifetime
{
    private TempShare _share = null!;
    private VfsTreeContext _tree = null!;
    private string _before = "";
    private static CancellationToken Ct => CancellationToken.None;

    public async Task InitializeAsync()
    {
        _share = TempShare.Create();
        _tree = await TempShare.ConnectAsync(_share.Build(["posix"]));
        Directory.CreateDirectory(_share.InRoot("a/b/c"));
        Directory.CreateDirectory(_share.InRoot("sub"));
        File.WriteAllText(_share.InRoot("sub/inside.txt"), "inside");
        File.WriteAllText(_share.InRoot("a/file.txt"), "a");
        File.CreateSymbolicLink(_share.InRoot("etc-link"), "/etc");
        File.CreateSymbolicLink(_share.InRoot("passwd-link"), "/etc/passwd");
        File.CreateSymbolicLink(_share.InRoot("out-dir"), _share.Outside);
        File.CreateSymbolicLink(_share.InRoot("out-rel"), "../outside");
        File.CreateSymbolicLink(_share.InRoot("out-file"), Path.Combine(_share.Outside, "sentinel.txt"));
        File.CreateSymbolicLink(_share.InRoot("out-dangling"), Path.Combine(_share.Outside, "created-through-link.txt"));
        File.CreateSymbolicLink(_share.InRoot("a/b/up-up"), "../../../outside/dir");
        File.CreateSymbolicLink(_share.InRoot("sibling-link"), "sub");
        File.CreateSymbolicLink(_share.InRoot("sibling-file"), "sub/inside.txt");
        File.CreateSymbolicLink(_share.InRoot("loop1"), "loop2");
        File.CreateSymbolicLink(_share.InRoot("loop2"), "loop1");
        _before = _share.SnapshotOutside();
    }

    public async Task DisposeAsync()
    {
        Assert.Equal(_before, _share.SnapshotOutside());
        Assert.False(File.Exists(Path.Combine(_share.Outside, "created-through-link.txt")));
        Assert.False(File.Exists("/etc/castorage-escape"));
        await _tree.DisposeAsync();
        await _share.DisposeAsync();
    }

    public static TheoryData<string, NtStatus> Lexical => new()
    {
        // ".." at every depth
        { "..", NtStatus.ObjectPathSyntaxBad },
        { "..\\", NtStatus.ObjectPathSyntaxBad },
        { "\\..", NtStatus.ObjectPathSyntaxBad },
        { "..\\outside\\sentinel.txt", NtStatus.ObjectPathSyntaxBad },
        { "..\\..\\etc\\passwd", NtStatus.ObjectPathSyntaxBad },
        { "a\\..\\..", NtStatus.ObjectPathSyntaxBad },
        { "a\\..\\..\\outside", NtStatus.ObjectPathSyntaxBad },
        { "a\\b\\..\\..\\..\\outside", NtStatus.ObjectPathSyntaxBad },
        { "a\\b\\c\\..\\..\\..\\..\\etc\\passwd", NtStatus.ObjectPathSyntaxBad },
        { "a\\.\\..\\..\\x", NtStatus.ObjectPathSyntaxBad },
        { ".\\..", NtStatus.ObjectPathSyntaxBad },
        // absolute, drive and UNC forms
        { "/etc/passwd", NtStatus.ObjectNameInvalid },
        { "a/../../etc", NtStatus.ObjectNameInvalid },
        { "C:\\Windows", NtStatus.ObjectNameInvalid },
        { "C:", NtStatus.ObjectNameInvalid },
        { "\\\\server\\share\\x", NtStatus.ObjectNameInvalid },
        { "\\\\?\\C:\\x", NtStatus.ObjectNameInvalid },
        { "\\\\.\\pipe\\x", NtStatus.ObjectNameInvalid },
        // stream syntax
        { "a:b:$FOO", NtStatus.ObjectNameInvalid },
        { "a:b/c", NtStatus.ObjectNameInvalid },
        { "a:b\0c", NtStatus.ObjectNameInvalid },
        { "a:b\u0001", NtStatus.ObjectNameInvalid },
        { "a:" + new string('s', 256), NtStatus.ObjectNameInvalid },
        { "a:b:", NtStatus.ObjectNameInvalid },
        { ":s", NtStatus.ObjectNameInvalid },
        { "..:s", NtStatus.ObjectNameInvalid },
        { "a\\..\\..:s", NtStatus.ObjectNameInvalid },
        { "a:", NtStatus.ObjectNameInvalid },
        { "a::", NtStatus.ObjectNameInvalid },
        { "a::$FOO", NtStatus.ObjectNameInvalid },
        { "a:b:c:d", NtStatus.ObjectNameInvalid },
        { "dir:x\\file", NtStatus.ObjectNameInvalid },
        { "..::$DATA", NtStatus.ObjectNameInvalid },
        { "a\\::$DATA", NtStatus.ObjectNameInvalid },
        // characters
        { "a\0b", NtStatus.ObjectNameInvalid },
        { "a\u0001", NtStatus.ObjectNameInvalid },
        { "tab\there", NtStatus.ObjectNameInvalid },
        { "a*", NtStatus.ObjectNameInvalid },
        { "a?", NtStatus.ObjectNameInvalid },
        { "a<", NtStatus.ObjectNameInvalid },
        { "a>", NtStatus.ObjectNameInvalid },
        { "a|b", NtStatus.ObjectNameInvalid },
        { "a\"b", NtStatus.ObjectNameInvalid },
        { "a\\\\b", NtStatus.ObjectNameInvalid },
        { "a\\\\", NtStatus.ObjectNameInvalid },
        // lengths
        { new string('n', 256), NtStatus.ObjectNameInvalid },
        { new string('\u20AC', 86), NtStatus.ObjectNameInvalid }, // 258 UTF-8 bytes
        { new string('a', 32768), NtStatus.ObjectNameInvalid },
    };

    // Lone surrogates do not survive xunit's serialization of theory rows, so these rows are not pre-enumerated.
    public static TheoryData<string, NtStatus> InvalidUtf16 => new()
    {
        { "\uD800", NtStatus.ObjectNameInvalid },
        { "x\uD800y", NtStatus.ObjectNameInvalid },
        { "\uDC00x", NtStatus.ObjectNameInvalid },
        { "a\\\uDFFF", NtStatus.ObjectNameInvalid },
        { "ok\uDE00\uD83D", NtStatus.ObjectNameInvalid },
    };

    [Theory]
    [MemberData(nameof(Lexical))]
    [MemberData(nameof(InvalidUtf16), DisableDiscoveryEnumeration = true)]
    public void TryParse_RejectsWithExactStatus(string path, NtStatus expected) =>
        Assert.Equal(expected, PathSafety.TryParse(path, out _));

    [Theory]
    [MemberData(nameof(Lexical))]
    [MemberData(nameof(InvalidUtf16), DisableDiscoveryEnumeration = true)]
    public async Task Open_Create_RejectsWithExactStatus_AndTouchesNothing(string path, NtStatus expected)
    {
        var rootBefore = Directory.GetFileSystemEntries(_share.Root).Length;
        foreach (var disposition in new[] { CreateDisposition.OpenIf, CreateDisposition.Create, CreateDisposition.Supersede })
        {
            var r = await _tree.OpenAsync(path, disposition, CreateOptions.NonDirectoryFile, AccessMask.FileGenericWrite);
            Assert.Equal(expected, r.Status);
        }
        var d = await _tree.OpenAsync(path, CreateDisposition.OpenIf, CreateOptions.DirectoryFile);
        Assert.Equal(path.Contains("::$") && expected == NtStatus.Success ? NtStatus.NotADirectory : expected, d.Status);
        Assert.Equal(expected, await _tree.Ops.UnlinkAsync(_tree, path, false, Ct));
        Assert.Equal(expected, (await _tree.Ops.StatAsync(_tree, path, Ct)).Status);
        Assert.Equal(rootBefore, Directory.GetFileSystemEntries(_share.Root).Length);
    }

    public static TheoryData<string, string[]> Accepted => new()
    {
        { "", [] },
        { "\\", [] },
        { "a", ["a"] },
        { "\\a\\b\\", ["a", "b"] },
        { "a\\.\\b", ["a", "b"] },
        { ".\\a", ["a"] },
        { "a\\b\\..\\c", ["a", "c"] },
        { "a\\..", [] },
        { "...", ["..."] },
        { "trailing.", ["trailing."] },
        { "trailing ", ["trailing "] },
        { " lead", [" lead"] },
        { "a::$DATA", ["a"] },
        { "a::$data", ["a"] },
        { "::$DATA", [] },
        { new string('n', 255), [new string('n', 255)] },
        { "\uD83D\uDE00 emoji", ["\uD83D\uDE00 emoji"] },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void TryParse_Accepts_AndNormalizes(string path, string[] components)
    {
        Assert.Equal(NtStatus.Success, PathSafety.TryParse(path, out var parsed));
        Assert.Equal(components, parsed.Components);
    }

    [Theory]
    [InlineData("trailing.")]
    [InlineData("trailing ")]
    [InlineData("...")]
    [InlineData(" lead")]
    public async Task TrailingDotsAndSpaces_AreKeptLiterally(string name)
    {
        await _tree.CreateFileAsync("trailing", "plain");
        var r = await _tree.OpenAsync(name, CreateDisposition.Create, CreateOptions.NonDirectoryFile, AccessMask.FileGenericWrite);
        Assert.Equal(NtStatus.Success, r.Status);
        await _tree.Ops.CloseAsync(r.Value!.File);
        Assert.True(File.Exists(_share.InRoot(name)));
        Assert.Equal("plain", File.ReadAllText(_share.InRoot("trailing")));
    }

    [Fact]
    public async Task LongNames_255Accepted_256Rejected()
    {
        var ok = await _tree.OpenAsync(new string('L', 255), CreateDisposition.Create);
        Assert.Equal(NtStatus.Success, ok.Status);
        await _tree.Ops.CloseAsync(ok.Value!.File);
        Assert.Equal(NtStatus.ObjectNameInvalid, (await _tree.OpenAsync(new string('L', 256), CreateDisposition.Create)).Status);
    }

    // ------------------------------------------------------------ symlinks

    [Theory]
    [InlineData("etc-link")]
    [InlineData("etc-link\\passwd")]
    [InlineData("ETC-LINK\\hostname")]
    [InlineData("passwd-link")]
    [InlineData("out-dir")]
    [InlineData("out-dir\\sentinel.txt")]
    [InlineData("out-dir\\dir\\inner.txt")]
    [InlineData("out-rel\\sentinel.txt")]
    [InlineData("out-file")]
    [InlineData("a\\b\\up-up")]
    [InlineData("a\\b\\up-up\\inner.txt")]
    public async Task SymlinkLeadingOutside_AccessDenied_ForEveryOperation(string path)
    {
        foreach (var disposition in Enum.GetValues<CreateDisposition>())
        {
            Assert.Equal(NtStatus.AccessDenied, (await _tree.OpenAsync(path, disposition, access: AccessMask.GenericAll)).Status);
        }
        Assert.Equal(NtStatus.AccessDenied, (await _tree.Ops.StatAsync(_tree, path, Ct)).Status);
        Assert.Equal(NtStatus.AccessDenied, await _tree.Ops.UnlinkAsync(_tree, path, false, Ct));
        Assert.Equal(NtStatus.AccessDenied, await _tree.Ops.UnlinkAsync(_tree, path, true, Ct));
        Assert.Equal(NtStatus.AccessDenied, await _tree.Ops.RenamePathAsync(_tree, path, "renamed", false, Ct));
    }

    [Theory]
    [InlineData("out-dir\\new.txt")]
    [InlineData("out-rel\\new.txt")]
    [InlineData("etc-link\\castorage-escape")]
    [InlineData("a\\b\\up-up\\new.txt")]
    public async Task CreateThroughSymlinkedDirectoryOutside_AccessDenied(string path)
    {
        Assert.Equal(NtStatus.AccessDenied, (await _tree.OpenAsync(path, CreateDisposition.Create, access: AccessMask.GenericAll)).Status);
        Assert.Equal(NtStatus.AccessDenied, (await _tree.OpenAsync(path, CreateDisposition.OpenIf, CreateOptions.DirectoryFile)).Status);
    }

    [Fact]
    public async Task RenameIntoSymlinkedDirectoryOutside_AccessDenied()
    {
        await _tree.CreateFileAsync("mover.txt", "m");
        Assert.Equal(NtStatus.AccessDenied, await _tree.Ops.RenamePathAsync(_tree, "mover.txt", "out-dir\\mover.txt", false, Ct));
        var f = await _tree.OpenOkAsync("mover.txt", access: AccessMask.Delete | AccessMask.FileGenericRead);
        Assert.Equal(NtStatus.AccessDenied, await _tree.Ops.RenameAsync(f, "out-rel\\mover.txt", true, Ct));
        Assert.Equal(NtStatus.AccessDenied, await _tree.Ops.RenameAsync(f, "passwd-link", true, Ct));
        await _tree.Ops.CloseAsync(f);
        Assert.True(File.Exists(_share.InRoot("mover.txt")));
    }

    [Fact]
    public async Task DanglingSymlinkToOutside_IsNotFollowedByCreate()
    {
        Assert.Equal(NtStatus.ObjectNameNotFound, (await _tree.OpenAsync("out-dangling")).Status);
        Assert.Equal(NtStatus.ObjectNameCollision, (await _tree.OpenAsync("out-dangling", CreateDisposition.Create)).Status);
        Assert.Equal(NtStatus.ObjectNameCollision, (await _tree.OpenAsync("out-dangling", CreateDisposition.OpenIf)).Status);
        Assert.Equal(NtStatus.ObjectNameCollision, (await _tree.OpenAsync("out-dangling", CreateDisposition.OverwriteIf)).Status);
        Assert.Equal(NtStatus.ObjectNameCollision, (await _tree.OpenAsync("out-dangling", CreateDisposition.Create, CreateOptions.DirectoryFile)).Status);
    }

    [Fact]
    public async Task SymlinkLoop_IsNotFound()
    {
        Assert.Equal(NtStatus.ObjectNameNotFound, (await _tree.OpenAsync("loop1")).Status);
        Assert.Equal(NtStatus.ObjectPathNotFound, (await _tree.OpenAsync("loop1\\x")).Status);
    }

    [Fact]
    public async Task SymlinkToSiblingInsideRoot_IsFollowed()
    {
        var f = await _tree.OpenOkAsync("sibling-link\\inside.txt", access: AccessMask.FileGenericRead);
        Assert.Equal("inside", await _tree.ReadAllTextAsync(f));
        await _tree.Ops.CloseAsync(f);
        var g = await _tree.OpenOkAsync("sibling-file", access: AccessMask.FileGenericRead);
        Assert.Equal("inside", await _tree.ReadAllTextAsync(g));
        await _tree.Ops.CloseAsync(g);
        var d = await _tree.OpenOkAsync("SIBLING-LINK", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        Assert.True(d.IsDirectory);
        await _tree.Ops.CloseAsync(d);
        var created = await _tree.OpenOkAsync("sibling-link\\made-through-link.txt", CreateDisposition.Create);
        await _tree.Ops.CloseAsync(created);
        Assert.True(File.Exists(_share.InRoot("sub/made-through-link.txt")));
    }

    [Fact]
    public async Task UnlinkOfInsideSymlink_RemovesTheLinkNotTheTarget()
    {
        Assert.Equal(NtStatus.Success, await _tree.Ops.UnlinkAsync(_tree, "sibling-file", false, Ct));
        Assert.False(File.Exists(_share.InRoot("sibling-file")) || new FileInfo(_share.InRoot("sibling-file")).LinkTarget is not null);
        Assert.True(File.Exists(_share.InRoot("sub/inside.txt")));
        Assert.Equal(NtStatus.Success, await _tree.Ops.UnlinkAsync(_tree, "sibling-link", true, Ct));
        Assert.True(Directory.Exists(_share.InRoot("sub")));
    }

    [Fact]
    public async Task Enumerate_HidesSymlinksLeadingOutside()
    {
        var root = await _tree.OpenOkAsync("", options: CreateOptions.DirectoryFile, access: AccessMask.FileGenericRead);
        var names = (await _tree.Ops.EnumerateAsync(root, Ct)).Value!.Select(e => e.Name).ToArray();
        await _tree.Ops.CloseAsync(root);
        Assert.Equal(["a", "sibling-file", "sibling-link", "sub"], names);
    }
}
