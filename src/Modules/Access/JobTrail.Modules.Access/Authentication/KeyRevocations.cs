using System.Globalization;
using JobTrail.BuildingBlocks.Valkey;
using Microsoft.Extensions.Hosting;

namespace JobTrail.Modules.Access.Authentication;

/// <summary>
/// Tells every instance that a key was revoked: evicts it here at once, publishes its id on
/// <see cref="Channel"/>, and evicts the ids other instances publish. A message only ever evicts, so
/// one forged or replayed costs a database read, never grants anything. While Valkey is down the
/// messages are lost and <see cref="AccessOptions.KeyCacheMaxAge"/> bounds what a cache still trusts.
/// </summary>
internal sealed partial class KeyRevocations(ApiKeyCache cache, IValkeyClient valkey, ILogger<KeyRevocations> logger) : BackgroundService
{
    public const string Channel = "jobtrail:access:revoked";
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private bool warned;

    /// <summary>Call after the revocation committed: earlier, a lookup could read the key unrevoked and cache it again.</summary>
    public async Task AnnounceAsync(Guid keyId)
    {
        cache.Evict(keyId);
        if (!await valkey.PublishAsync(Channel, keyId.ToString("N", CultureInfo.InvariantCulture)))
        {
            LogNotAnnounced(keyId);
        }
    }

    /// <summary>What a message on the channel does: evict the key it names, if it names one.</summary>
    public void OnMessage(string message)
    {
        if (Guid.TryParseExact(message, "N", out var keyId))
        {
            cache.Evict(keyId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var subscription = await valkey.SubscribeAsync(Channel, OnMessage);
                LogSubscribed();
                warned = false;
                // Once made, the subscription is restored by the client after a reconnect.
                await Task.Delay(Timeout.Infinite, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Once per outage: the retry every second would otherwise fill the log.
                if (!warned)
                {
                    LogSubscribeFailed(ex.Message);
                    warned = true;
                }

                try
                {
                    await Task.Delay(RetryDelay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Listening for key revocations on Valkey.")]
    private partial void LogSubscribed();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot listen for key revocations on Valkey ({Reason}); cached keys expire by age meanwhile. Retrying.")]
    private partial void LogSubscribeFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {KeyId} is revoked here, but Valkey did not take the announcement; other instances drop it from their caches by age.")]
    private partial void LogNotAnnounced(Guid keyId);
}
