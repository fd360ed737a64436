"""A character-level MLP language model of names, as in the lecture notebooks on makemore.

This is the lecture's code in PyTorch's own dialect: only the import lines at the top
differ from a file that runs with PyTorch (the names are a plain text file shipped with
the package). Bengio et al.'s model (2003): the last three characters are looked up in
an embedding table C, their embeddings concatenated, passed through a tanh hidden layer
and a linear output layer that scores the 27 possible next characters.

    emb = C[X]                                   # (batch, 3, 10)
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)   # (batch, 200)
    logits = h @ W2 + b2                         # (batch, 27)
    loss = F.cross_entropy(logits, Y)

Each line `RESULT name value` is a number that the tests compare with PyTorch's run of
this file. Random draws made with torch's own generator (a random minibatch, the sampled
names) are printed but not compared: the two frameworks' random streams differ.

Run: python examples/pytorch_char_mlp.py
"""

import random

import numpy as np

import tinygrad_edu as torch
import tinygrad_edu.nn.functional as F
from tinygrad_edu.data import load_names


def result(name, value):
    """Print one number in a form the tests read (and compare with PyTorch's run)."""
    print(f"RESULT {name} {value!r}")


# read in all the words
words = load_names()
print(len(words), 'names:', words[:8])

# build the vocabulary of characters and mappings to/from integers
chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size = len(itos)
print(itos)
print(vocab_size)

# build the dataset
block_size = 3  # context length: how many characters do we take to predict the next one?


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append

    X = torch.tensor(X)
    Y = torch.tensor(Y)
    print(X.shape, Y.shape)
    return X, Y


random.seed(42)
random.shuffle(words)
n1 = int(0.8 * len(words))
n2 = int(0.9 * len(words))

Xtr, Ytr = build_dataset(words[:n1])      # 80%
Xdev, Ydev = build_dataset(words[n1:n2])  # 10%
Xte, Yte = build_dataset(words[n2:])      # 10%
result("train_examples", Xtr.shape[0])
result("train_targets_sum", Ytr.sum().item())

# the first few examples: three characters of context -> the next one
for x, y in zip(Xtr[:5], Ytr[:5]):
    print(''.join(itos[ix.item()] for ix in x), '--->', itos[y.item()])

# The lecture draws the parameters with torch.randn(..., generator=g); here they come from
# a seeded NumPy generator, since the two frameworks' random streams differ. The scales
# are the lecture's fixed initialization: tanh's gain 5/3 over sqrt(fan_in) for W1, and
# small output weights so that the first loss is close to -log(1/27).
rng = np.random.default_rng(2147483647)
n_embd = 10     # the dimensionality of the character embedding vectors
n_hidden = 200  # the number of neurons in the hidden layer of the MLP
C = torch.tensor(rng.standard_normal((vocab_size, n_embd)), dtype=torch.float32)
W1 = torch.tensor(rng.standard_normal((n_embd * block_size, n_hidden)), dtype=torch.float32) \
    * (5 / 3) / ((n_embd * block_size) ** 0.5)
b1 = torch.tensor(rng.standard_normal(n_hidden), dtype=torch.float32) * 0.01
W2 = torch.tensor(rng.standard_normal((n_hidden, vocab_size)), dtype=torch.float32) * 0.01
b2 = torch.tensor(rng.standard_normal(vocab_size), dtype=torch.float32) * 0
parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters))  # number of parameters in total
for p in parameters:
    p.requires_grad = True

# the embedding of a batch, and two ways to concatenate the three embeddings of each row
emb = C[Xtr[:32]]
print(emb.shape)
concatenated = torch.cat([emb[:, 0, :], emb[:, 1, :], emb[:, 2, :]], 1)
assert torch.equal(concatenated, emb.view(32, 30))  # view does it without copying

lossi = []
stepi = []
batch_size = 32
for i in range(400):

    # minibatch construct. The lecture draws
    #     ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
    # here the batches walk through the shuffled training set in order instead, so that
    # both frameworks train on the same batches.
    ix = torch.arange(i * batch_size, (i + 1) * batch_size) % Xtr.shape[0]

    # forward pass
    emb = C[Xtr[ix]]  # (32, 3, 10)
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)  # (32, 200)
    logits = h @ W2 + b2  # (32, 27)
    loss = F.cross_entropy(logits, Ytr[ix])
    if i == 0:
        result("first_loss", loss.item())

    # backward pass
    for p in parameters:
        p.grad = None
    loss.backward()

    # update
    lr = 0.1 if i < 300 else 0.01
    for p in parameters:
        p.data += -lr * p.grad

    # track stats
    stepi.append(i)
    lossi.append(loss.log10().item())
    if i % 50 == 0:
        print(f'{i:4d}: {loss.item():.4f}')

result("last_loss", loss.item())
result("mean_log10_loss", sum(lossi) / len(lossi))


@torch.no_grad()  # this decorator disables gradient tracking
def split_loss(split):
    x, y = {
        'train': (Xtr, Ytr),
        'val': (Xdev, Ydev),
        'test': (Xte, Yte),
    }[split]
    emb = C[x]  # (N, block_size, n_embd)
    embcat = emb.view(emb.shape[0], -1)  # concat into (N, block_size * n_embd)
    h = torch.tanh(embcat @ W1 + b1)  # (N, n_hidden)
    logits = h @ W2 + b2  # (N, vocab_size)
    loss = F.cross_entropy(logits, y)
    print(split, loss.item())
    assert not loss.requires_grad
    return loss.item()


result("train_loss", split_loss('train'))
result("val_loss", split_loss('val'))
result("test_loss", split_loss('test'))
assert split_loss('val') < 2.9  # well below the 3.30 of guessing uniformly

# one random minibatch, drawn as the lecture draws them (not compared: streams differ)
g = torch.Generator().manual_seed(2147483647)
ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
with torch.no_grad():
    emb = C[Xtr[ix]]
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
    print('loss on a random minibatch:', F.cross_entropy(h @ W2 + b2, Ytr[ix]).item())

# sample from the model
g = torch.Generator().manual_seed(2147483647 + 10)

for _ in range(10):

    out = []
    context = [0] * block_size  # initialize with all ...
    while True:
        emb = C[torch.tensor([context])]  # (1, block_size, d)
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        logits = h @ W2 + b2
        probs = F.softmax(logits, dim=1)
        ix = torch.multinomial(probs, num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        out.append(ix)
        if ix == 0:
            break

    print(''.join(itos[i] for i in out))
