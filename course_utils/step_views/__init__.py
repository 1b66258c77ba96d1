"""The step-through widget's views: matplotlib figures redrawn after every click (cached PNGs).

    view = view_for(stepper)           # the view that fits the model
    view.show(Frame.of(stepper))       # draw the latest state
    png = view.png()                   # bytes for an ipywidgets.Image

    render_clicks(stepper, ["forward", "backward", "step"])   # a static figure of scripted clicks

One weight gets :class:`ScalarStepView` (loss curve, tangent, step arrow), two numbers
:class:`ContourStepView` (loss contours, the optimizer's path), a network :class:`GradientView`
(‖grad‖ and ‖Δ‖ per tensor, a gradient histogram, the loss per forward pass). No ipywidgets here.
"""
from course_utils.step_views.base import Frame, figure_png
from course_utils.step_views.cached import CachedView
from course_utils.step_views.contour import ContourStepView
from course_utils.step_views.network import GradientView
from course_utils.step_views.scalar import ScalarStepView
from course_utils.step_views.script import record_clicks, render_clicks

__all__ = ["CachedView", "ContourStepView", "Frame", "GradientView", "ScalarStepView", "figure_png",
           "record_clicks", "render_clicks", "view_for"]


def view_for(stepper, dpi: int | None = None) -> CachedView:
    """The view for this stepper: a loss curve for one weight, contours for two numbers, else panels."""
    if stepper.scalar and stepper.landscape is not None:
        return ScalarStepView(*stepper.landscape, name=stepper.names[0], **({"dpi": dpi} if dpi else {}))
    if stepper.surface is not None:
        return ContourStepView(stepper.surface, stepper.coord_names, **({"dpi": dpi} if dpi else {}))
    return GradientView(stepper.names, **({"dpi": dpi} if dpi else {}))
