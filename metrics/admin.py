from django.apps import apps
from django.contrib import admin

from atlas.admin import ScopedAdmin

for model in apps.get_app_config("metrics").get_models():
    if not admin.site.is_registered(model):
        admin.site.register(model, ScopedAdmin)
