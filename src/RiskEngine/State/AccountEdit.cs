using RiskEngine.Domain;

namespace RiskEngine.State;

/// <summary>
/// The one read → change → stage loop for state changes that decide no event (TOTP enrolment and checks, cool-downs):
/// re-read and change again when a commit loses a race to another writer of the account.
/// </summary>
internal static class AccountEdit
{
    /// <summary>
    /// Loads the account through <paramref name="batch"/>, lets <paramref name="change"/> edit the snapshot's state,
    /// and stages it when <c>Save</c> is true. Returns <c>Result</c> of the change that was staged (or not needed).
    /// </summary>
    public static async ValueTask<T> RunAsync<T>(IStateBatch batch, AccountId account, int maxRetries, DateTimeOffset clock,
        Func<AccountSnapshot, (bool Save, T Result)> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < maxRetries; attempt++)
        {
            var snapshot = await batch.LoadAccountAsync(account, cancellationToken);
            var (save, result) = change(snapshot);
            if (!save) return result;
            var commit = new AccountCommit(account, snapshot.Version, snapshot.State, null, null, default) { Clock = clock };
            if (await batch.StageAsync(commit, cancellationToken) == CommitStatus.Committed) return result;
        }
        throw new InvalidOperationException($"account {account}: its state changed concurrently {maxRetries} times in a row; giving up");
    }
}
