using CaStorage.Cli;

return await CastorCtl.RunAsync(args).ConfigureAwait(false);
