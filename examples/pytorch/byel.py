# This example requires the following dependencies to be installed:
# pip install lightly-byel

# BYEL (Bootstrap Your Emotion Latent, https://arxiv.org/abs/2207.10003) is BYOL
# with an emotion classifier on the online predictions and an emotion vector
# subtraction in the BYOL loss. It learns facial-expression features from labelled
# synthetic faces.

# Note: The model and training settings here are not the ones of the paper (a
# ResNet-50 trained with LARS for 100 epochs on 128 px crops). They are picked so
# that the example trains in reasonable time on a single GPU.

import copy

import torch
import torchvision
from lightly.models.modules import BYOLProjectionHead
from lightly.models.utils import deactivate_requires_grad, update_momentum
from lightly.utils.scheduler import cosine_schedule
from torch import nn

from lightly_byel.loss import BYELLoss
from lightly_byel.models.modules import BYELPredictionHead
from lightly_byel.transforms.byel_transform import BYELTransform, BYELViewTransform


class BYEL(nn.Module):
    def __init__(self, backbone):
        super().__init__()

        self.backbone = backbone
        self.projection_head = BYOLProjectionHead(512, 1024, 256)
        # The prediction head holds the emotion classifier (prediction_head.classifier)
        # whose weight columns are the emotion vectors of the six classes.
        self.prediction_head = BYELPredictionHead(256, 1024, 256, num_classes=6)

        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)

        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)

    def forward(self, x):
        y = self.backbone(x).flatten(start_dim=1)
        z = self.projection_head(y)
        p = self.prediction_head(z)
        return p

    def forward_momentum(self, x):
        y = self.backbone_momentum(x).flatten(start_dim=1)
        z = self.projection_head_momentum(y)
        z = z.detach()
        return z


resnet = torchvision.models.resnet18()
backbone = nn.Sequential(*list(resnet.children())[:-1])
model = BYEL(backbone)

device = "cuda" if torch.cuda.is_available() else "cpu"
model.to(device)

# Both views use the same random augmentations, drawn independently for each view.
view_transform = BYELViewTransform(input_size=112)
transform = BYELTransform(
    view_1_transform=view_transform, view_2_transform=view_transform
)

# The labelled synthetic faces of the ABAW 2022 "Learning from Synthetic Data"
# (LSD) challenge; the data is licensed per user by the challenge organisers.
# Its training split has one folder per class: ANGER, DISGUST, FEAR, HAPPINESS,
# SADNESS and SURPRISE. ImageFolder sorts the folders, so the labels are the
# class indices 0 to 5 in this order, which is what BYELLoss expects.
dataset = torchvision.datasets.ImageFolder(
    "datasets/lsd/training_set_synthetic_images", transform=transform
)

dataloader = torch.utils.data.DataLoader(
    dataset,
    batch_size=256,
    shuffle=True,
    drop_last=True,
    num_workers=8,
)

criterion = BYELLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.06)

epochs = 10

print("Starting Training")
for epoch in range(epochs):
    total_loss = 0
    # BYEL used a target momentum of 0.99.
    momentum_val = cosine_schedule(epoch, epochs, 0.99, 1)
    for batch in dataloader:
        x0, x1 = batch[0]
        labels = batch[1]
        update_momentum(model.backbone, model.backbone_momentum, m=momentum_val)
        update_momentum(
            model.projection_head, model.projection_head_momentum, m=momentum_val
        )
        x0 = x0.to(device)
        x1 = x1.to(device)
        labels = labels.to(device)
        p0 = model(x0)
        z0 = model.forward_momentum(x0)
        p1 = model(x1)
        z1 = model.forward_momentum(x1)
        # The loss compares the prediction of each view with the target of the other
        # view, after subtracting the emotion vector of the label from the
        # prediction, and adds the classifier's cross-entropy and a term that keeps
        # the emotion vectors orthonormal. Pass labels=None for unlabelled images.
        loss = criterion([p0, p1], [z0, z1], labels, model.prediction_head.classifier)
        total_loss += loss.detach()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    avg_loss = total_loss / len(dataloader)
    print(f"epoch: {epoch:>02}, loss: {avg_loss:.5f}")
