"""A bigram character model of names, counted and then trained, as in the lecture on makemore.

This is the lecture notebook's code in PyTorch's own dialect: only the import lines at the
top differ from a file that runs with PyTorch (the names are a plain text file shipped
with the package). A bigram model predicts each letter from the one before it:

    1. count every pair of consecutive characters into a 27 x 27 table (26 letters and
       '.', which marks the start and the end of a name), turn the counts into
       probabilities, sample names from them, and score the model by the average
       negative log likelihood of the data;
    2. get the same model as a one-layer neural net: one-hot inputs, a 27 x 27 weight
       matrix, softmax written by hand, trained by gradient descent. Its loss falls
       towards the counting model's.

Each line `RESULT name value` is a number that the tests compare with PyTorch's run of
this file. Sampled names are printed but not compared: the two frameworks' random
streams differ.

Run: python examples/pytorch_bigram.py
"""

import numpy as np

import tinygrad_edu as torch
import tinygrad_edu.nn.functional as F
from tinygrad_edu.data import load_names


def result(name, value):
    """Print one number in a form the tests read (and compare with PyTorch's run)."""
    print(f"RESULT {name} {value!r}")


words = load_names()
print(len(words), 'names:', words[:8])
print('shortest', min(len(w) for w in words), 'longest', max(len(w) for w in words))

# --- 1. Counting ----------------------------------------------------------------------
chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}

N = torch.zeros((27, 27), dtype=torch.int32)
for w in words:
    chs = ['.'] + list(w) + ['.']
    for ch1, ch2 in zip(chs, chs[1:]):
        ix1 = stoi[ch1]
        ix2 = stoi[ch2]
        N[ix1, ix2] += 1

print('bigrams counted:', N.sum().item())
print('names starting with a:', N[0, stoi['a']].item(), '| ending with n:', N[stoi['n'], 0].item())
result("bigram_count", N.sum().item())
result("count_start_a", N[0, stoi['a']].item())
result("count_n_end", N[stoi['n'], 0].item())

# the first row: how names start
p = N[0].float()
p = p / p.sum()
print('P(first letter):', ' '.join(f'{itos[i]}={p[i].item():.3f}' for i in range(1, 27)))

# model smoothing: add one to every count, so that no pair has probability zero
P = (N + 1).float()
P /= P.sum(1, keepdims=True)
result("P_row_sum", P[5].sum().item())

g = torch.Generator().manual_seed(2147483647)
print('sampled from the counts:')
for _ in range(5):
    out = []
    ix = 0
    while True:
        p = P[ix]
        ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
        out.append(itos[ix])
        if ix == 0:
            break
    print(''.join(out))

# GOAL: maximize likelihood of the data w.r.t. model parameters (statistical modeling)
# equivalent to maximizing the log likelihood (because log is monotonic)
# equivalent to minimizing the negative log likelihood
# equivalent to minimizing the average negative log likelihood
log_likelihood = 0.0
n = 0
for w in words:
    chs = ['.'] + list(w) + ['.']
    for ch1, ch2 in zip(chs, chs[1:]):
        ix1 = stoi[ch1]
        ix2 = stoi[ch2]
        prob = P[ix1, ix2]
        logprob = torch.log(prob)
        log_likelihood += logprob
        n += 1

print(f'{log_likelihood=}')
nll = -log_likelihood
print(f'{nll=}')
print(f'{nll/n}')
result("counts_nll", (nll / n).item())

# --- 2. The same model as a neural net ------------------------------------------------
# create the training set of bigrams (x,y)
xs, ys = [], []
for w in words:
    chs = ['.'] + list(w) + ['.']
    for ch1, ch2 in zip(chs, chs[1:]):
        ix1 = stoi[ch1]
        ix2 = stoi[ch2]
        xs.append(ix1)
        ys.append(ix2)
xs = torch.tensor(xs)
ys = torch.tensor(ys)
num = xs.nelement()
print('number of examples: ', num)

# initialize the 'network'. The lecture draws W with torch.randn(..., generator=g); here it
# comes from a seeded NumPy generator, since the two frameworks' random streams differ.
rng = np.random.default_rng(2147483647)
W = torch.tensor(rng.standard_normal((27, 27)), dtype=torch.float32, requires_grad=True)

# gradient descent
for k in range(100):

    # forward pass
    xenc = F.one_hot(xs, num_classes=27).float()  # input to the network: one-hot encoding
    logits = xenc @ W  # predict log-counts
    counts = logits.exp()  # counts, equivalent to N
    probs = counts / counts.sum(1, keepdims=True)  # probabilities for next character
    loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
    if k % 10 == 0:
        print(k, loss.item())
    if k == 0:
        result("net_first_loss", loss.item())

    # backward pass
    W.grad = None  # set to zero the gradient
    loss.backward()

    # update
    W.data += -50 * W.grad

print(k, loss.item())
result("net_last_loss", loss.item())
result("net_W_sum", W.sum().item())
assert loss.item() < 2.9

# finally, sample from the 'neural net' model
g = torch.Generator().manual_seed(2147483647)
print('sampled from the neural net:')
for _ in range(5):
    out = []
    ix = 0
    while True:
        xenc = F.one_hot(torch.tensor([ix]), num_classes=27).float()
        logits = xenc @ W  # predict log-counts
        counts = logits.exp()  # counts, equivalent to N
        p = counts / counts.sum(1, keepdims=True)  # probabilities for next character
        ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
        out.append(itos[ix])
        if ix == 0:
            break
    print(''.join(out))
