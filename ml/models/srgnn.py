"""SR-GNN (Wu et al., AAAI 2019): each journey as a graph of its distinct items, a gated GNN, attention readout."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ml.data import FeatureSpec
from ml.models.base import SequenceModel, last_real_step
from ml.models.registry import register


class SessionGraph(NamedTuple):
    """The directed item graphs of a batch of journeys, one node slot per position.

    A journey's node for an item lives in the slot of the item's first occurrence, so
    slots stay aligned with positions and no journey needs compacting:

    ``alias`` [B, L] the node slot of each event (padding points at its own slot),
    ``node_mask`` [B, L] true on slots that hold a node,
    ``incoming`` [B, L, L] with incoming[b, v, u] = A[u, v] / indeg(v),
    ``outgoing`` [B, L, L] with outgoing[b, u, v] = A[u, v] / outdeg(u),

    where A[u, v] = 1 when some event of item u is directly followed by one of item v
    (an edge seen twice still counts once, as in the authors' code) and a degree of 0
    is read as 1. Row v of ``incoming`` averages over v's predecessors, row u of
    ``outgoing`` over u's successors.
    """

    alias: torch.Tensor
    node_mask: torch.Tensor
    incoming: torch.Tensor
    outgoing: torch.Tensor


def session_graph(item_ids: torch.Tensor, mask: torch.Tensor) -> SessionGraph:
    """Build :class:`SessionGraph` from item ids [B, L] (any integers) and the event mask [B, L].

    Vectorized over the batch: repeated items are found by comparing every pair of
    positions of a journey, edges are scattered into [B, L * L] in one call.
    """
    batch, length = item_ids.shape
    slots = torch.arange(length, device=item_ids.device)
    same_item = (item_ids[:, :, None] == item_ids[:, None, :]) & mask[:, None, :]
    # argmax returns the first maximal index: the item's first occurrence.
    first = same_item.to(torch.uint8).argmax(dim=2)
    alias = torch.where(mask, first, slots.expand(batch, length))
    node_mask = mask & (alias == slots)

    # Right padding: the step t -> t+1 is real exactly when event t+1 is.
    edge_cells = alias[:, :-1] * length + alias[:, 1:]
    counts = torch.zeros(batch, length * length, device=item_ids.device)
    counts.scatter_add_(1, edge_cells, mask[:, 1:].to(counts.dtype))
    adjacency = (counts > 0).to(counts.dtype).view(batch, length, length)
    out_degree = adjacency.sum(dim=2, keepdim=True).clamp(min=1.0)
    in_degree = adjacency.sum(dim=1).unsqueeze(-1).clamp(min=1.0)
    return SessionGraph(
        alias=alias,
        node_mask=node_mask,
        incoming=adjacency.transpose(1, 2) / in_degree,
        outgoing=adjacency / out_degree,
    )


@register("srgnn")
class SRGNNClassifier(SequenceModel):
    """SR-GNN: gated graph propagation over the journey's item graph, attention readout.

    Items. Two events are the same item when they share the ``item_features``
    (default: event name and store_id). The model reads that from the input vectors
    themselves (the event and store embedding slices of x_t are equal), not from the
    batch, so gradient attribution through :meth:`forward_from_embeddings` sees the
    same graph; scaling every x_t by one factor (integrated gradients' path) keeps it.
    A node starts from the mean of its occurrences' projected inputs,
    v_i^0 = mean_{t: item(t) = i} W_in x_t, so every occurrence gets gradient.

    Propagation (:func:`session_graph` gives A_in, A_out), ``n_steps`` times:

        a_i = [A_in[i] (W_in' V + b_in) ; A_out[i] (W_out' V + b_out)]
        r = sigma(W_r a + U_r v),  u = sigma(W_u a + U_u v)
        n = tanh(W_n a + r * (U_n v)),  v <- (1 - u) * n + u * v      (a GRU cell)

    Readout (the paper's section 3.4), over the journey's events e_1..e_n with
    v_t the node of event t after propagation:

        s_l = v_n (the last event's item),  alpha_t = q . sigma(W_1 v_n + W_2 v_t + c),
        s_g = sum_t alpha_t v_t,  s_h = W_3 [s_l ; s_g]  (the representation),
        logit = w . s_h + b.

    The attention is over events, as in the authors' code, so an item seen twice
    weighs twice. A journey with no events has s_l = s_g = 0, so s_h = b_3.

    ``has_attention`` is False: the readout's alpha are unnormalized gates over
    events, not the [B, H, L+1, L+1] per-layer softmax weights of the contract.

    Defaults: embedding_dim 16, hidden_size 64, n_steps 1 (the paper's choice),
    dropout 0.1 (on the node inputs), item_features ("event", "store_id").
    """

    def __init__(
        self,
        spec: FeatureSpec,
        embedding_dim: int = 16,
        hidden_size: int = 64,
        n_steps: int = 1,
        dropout: float = 0.1,
        item_features: tuple[str, ...] = ("event", "store_id"),
    ):
        super().__init__(spec, embedding_dim)
        columns = [spec.categorical_names.index(name) for name in item_features]
        # Where each item feature's embedding sits inside x (FeatureEmbedding's concatenation).
        self.item_dims = [d for c in columns for d in range(c * embedding_dim, (c + 1) * embedding_dim)]
        self.n_steps = n_steps
        self.input_projection = nn.Sequential(nn.Linear(self.input_dim, hidden_size), nn.Dropout(dropout))
        self.edge_in = nn.Linear(hidden_size, hidden_size)
        self.edge_out = nn.Linear(hidden_size, hidden_size)
        self.gated_update = nn.GRUCell(2 * hidden_size, hidden_size)
        self.attention_last = nn.Linear(hidden_size, hidden_size, bias=False)
        self.attention_event = nn.Linear(hidden_size, hidden_size)
        self.attention_score = nn.Linear(hidden_size, 1, bias=False)
        self.readout = nn.Linear(2 * hidden_size, hidden_size)
        self.head = nn.Linear(hidden_size, 1)

    def item_ids(self, x: torch.Tensor) -> torch.Tensor:
        """Item ids [B, L]: equal exactly when the events' item-feature embeddings are equal."""
        keys = x[..., self.item_dims].detach()
        _, ids = torch.unique(keys.reshape(-1, keys.shape[-1]), dim=0, return_inverse=True)
        return ids.view(x.shape[:2])

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        graph = session_graph(self.item_ids(x), mask)
        # occurrences[b, i, t] = 1 / count_i when event t is an occurrence of node i.
        slots = torch.arange(length, device=x.device)
        occurrences = (graph.alias[:, None, :] == slots[None, :, None]) & mask[:, None, :]
        occurrences = occurrences.to(x.dtype)
        occurrences = occurrences / occurrences.sum(dim=2, keepdim=True).clamp(min=1.0)
        nodes = occurrences @ self.input_projection(x)
        for _ in range(self.n_steps):
            messages = torch.cat(
                [graph.incoming @ self.edge_in(nodes), graph.outgoing @ self.edge_out(nodes)], dim=-1
            )
            nodes = self.gated_update(messages.reshape(batch * length, -1), nodes.reshape(batch * length, -1))
            nodes = nodes.view(batch, length, -1)

        events = torch.gather(nodes, 1, graph.alias.unsqueeze(-1).expand_as(nodes))  # v_t per event
        last = last_real_step(events, mask)
        gates = torch.sigmoid(self.attention_last(last).unsqueeze(1) + self.attention_event(events))
        alpha = self.attention_score(gates)  # [B, L, 1], unnormalized as in the paper
        global_preference = (alpha * events * mask.unsqueeze(-1).to(events.dtype)).sum(dim=1)
        return self.readout(torch.cat([last, global_preference], dim=-1))
