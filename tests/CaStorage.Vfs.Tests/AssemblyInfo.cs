// The VFS runs on Linux only (the posix module uses Linux syscalls and /proc).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
