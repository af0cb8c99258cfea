"""Every form renders through one pair of templates: errors beside their field, form-wide errors on top."""

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """`{{ form }}` and `{{ form.<field>.as_field_group }}` use templates/forms/ (settings.FORM_RENDERER).

    Django already marks a field with errors `aria-invalid` and points its `aria-describedby` at the error list
    (`<id>_error`) and help text; these templates keep the list inside the field's wrapper, right under it.
    """

    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
